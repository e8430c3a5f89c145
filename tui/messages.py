"""Messages of the console: what its workers found or did, and what a screen asks of the app (messages go up).

Each result has its own class named for what happened, with typed fields; a screen handles the ones it cares
about with @on(...). Failures are not messages of their own kind: a worker raises, and the app's one
Worker.StateChanged handler tells the agent (see ThreadlineConsole.report_failure).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from PIL.Image import Image as Picture
from textual.message import Message

from core.data_requests import ErasureSummary
from core.models import ConversationStatus
from tui.i18n import N_, _


@dataclass
class Notice:
    """Something an agent should hear about: a new conversation, an end user's answer."""

    text: str  # built from people's text: always shown with markup=False
    conversation_id: int | None = None


@dataclass
class LiveChange:
    """What changed in the event log since the last look."""

    conversation_ids: set[int] = field(default_factory=set)
    kinds: set[str] = field(default_factory=set)
    global_change: bool = False  # settings, triggers, templates, outbox, inbound mail, agents
    notices: list[Notice] = field(default_factory=list)


# --- the app's own ---------------------------------------------------------------------------------------
class ConsoleReady(Message):
    """The start-up worker set the agent online and read the log's cursor and the waiting count."""

    def __init__(self, waiting: int) -> None:
        super().__init__()
        self.waiting = waiting


class ConsoleProblem(Message):
    """Something the agent should know about the console itself (live updates paused)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class EventsArrived(Message):
    """The follower read new events from the log (posted to the app)."""

    def __init__(self, change: LiveChange) -> None:
        super().__init__()
        self.change = change


class LiveChanged(Message, bubble=False):
    """The app hands a live change down to each screen of its stack; each decides whether to read again."""

    def __init__(self, change: LiveChange) -> None:
        super().__init__()
        self.change = change


class WorkFailed(Message):
    """A screen's worker raised; bubbles up to the app, which tells the agent and logs it."""

    def __init__(self, worker_name: str, error: BaseException) -> None:
        super().__init__()
        self.worker_name = worker_name
        self.error = error


# --- what a screen asks of the app ---------------------------------------------------------------------------
class ConversationPicked(Message):
    """Open this conversation (a queue row, take-next, a palette entry)."""

    def __init__(self, conversation_id: int) -> None:
        super().__init__()
        self.conversation_id = conversation_id


class DraftKept(Message):
    """The agent left a conversation with this reply text unsent (empty: no draft); the app keeps it."""

    def __init__(self, conversation_id: int, text: str) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.text = text


# --- changes that succeeded -----------------------------------------------------------------------------------
class ChangeDone(Message):
    """A change a worker committed. NOTICE (a msgid) is told to the agent; empty says nothing."""

    NOTICE = ""

    @property
    def notice(self) -> str:
        return _(self.NOTICE) if self.NOTICE else ""


class ConversationChanged(ChangeDone):
    def __init__(self, conversation_id: int) -> None:
        super().__init__()
        self.conversation_id = conversation_id


class ReplySent(ConversationChanged):
    def __init__(self, conversation_id: int, body: str, email_fallback: bool) -> None:
        super().__init__(conversation_id)
        self.body = body
        self.email_fallback = email_fallback


class FileAttached(ConversationChanged):
    NOTICE = N_("File sent.")


class AttachmentPreviewRead(Message):
    """A worker read an attachment to preview: its decoded picture, or (picture None) why it cannot be shown."""

    def __init__(self, name: str, picture: Picture | None, reason: str) -> None:
        super().__init__()
        self.name = name
        self.picture = picture
        self.reason = reason


class AttachmentFetched(Message):
    """A worker opened an attachment with the system's opener (opened) or saved it (path) for the agent."""

    def __init__(self, path: str, opened: bool) -> None:
        super().__init__()
        self.path = path
        self.opened = opened


class ConversationAssigned(ConversationChanged):
    NOTICE = N_("Assigned to you.")


class ConversationReleased(ConversationChanged):
    NOTICE = N_("Released to the queue.")


class ConversationReopened(ConversationChanged):
    NOTICE = N_("Reopened.")  # core picks open or queued (the reopen rule), so the notice does not name it


class ConversationStatusSet(ConversationChanged):
    NOTICES: ClassVar[dict[ConversationStatus, str]] = {
        ConversationStatus.pending: N_("Set to pending."),
        ConversationStatus.solved: N_("Solved."),
        ConversationStatus.open: N_("Reopened."),
        ConversationStatus.queued: N_("Reopened."),
    }

    def __init__(self, conversation_id: int, status: ConversationStatus) -> None:
        super().__init__(conversation_id)
        self.status = status

    @property
    def notice(self) -> str:
        return _(self.NOTICES[self.status])


class EndUserChanged(ChangeDone):
    def __init__(self, end_user_id: int) -> None:
        super().__init__()
        self.end_user_id = end_user_id


class EndUserEmailSaved(EndUserChanged):
    NOTICE = N_("Email address saved.")


class EndUserLanguageSaved(EndUserChanged):
    NOTICE = N_("Language saved.")


class EndUserEmailConfirmed(EndUserChanged):
    NOTICE = N_("The email address is confirmed.")


class EndUserBlocked(EndUserChanged):
    NOTICE = N_("The end user is blocked: their widget and email address are refused.")


class EndUserUnblocked(EndUserChanged):
    NOTICE = N_("The end user is unblocked.")


class ProfilesMerged(EndUserChanged):
    NOTICE = N_("Profiles merged into this one.")


class EndUserExported(Message):
    """A worker wrote everything held about the end user to path (on the agent's machine) and recorded it."""

    def __init__(self, end_user_id: int, path: str) -> None:
        super().__init__()
        self.end_user_id = end_user_id
        self.path = path


class EndUserErased(EndUserChanged):
    """An admin erased the end user's data; the notice gives what changed, in counts only."""

    def __init__(self, summary: ErasureSummary) -> None:
        super().__init__(summary.end_user_id)
        self.summary = summary

    @property
    def notice(self) -> str:
        summary = self.summary
        return _("The end user's data is erased: {messages} messages replaced by a marker, {inbound} inbound emails "
                 "and {files} files deleted, {jobs} outbox jobs and {events} events stripped of personal data.").format(
            messages=summary.messages_erased, inbound=summary.inbound_emails_deleted,
            files=summary.attachments_deleted, jobs=summary.outbox_jobs_anonymised, events=summary.events_scrubbed)


class NextConversationTaken(ChangeDone):
    def __init__(self, conversation_id: int) -> None:
        super().__init__()
        self.conversation_id = conversation_id


class NothingWaiting(ChangeDone):
    NOTICE = N_("No conversation is waiting.")


class InboundEmailChanged(ChangeDone):
    def __init__(self, inbound_id: int) -> None:
        super().__init__()
        self.inbound_id = inbound_id


class HeldEmailAccepted(InboundEmailChanged):
    """A held, refused or unmatched email was posted into a conversation."""

    NOTICE = N_("The email is posted into the conversation.")


class InboundEmailDiscarded(InboundEmailChanged):
    NOTICE = N_("The email is discarded; it stays recorded.")


class NotificationRetried(ChangeDone):
    NOTICE = N_("The notification will be sent again.")

    def __init__(self, job_id: int) -> None:
        super().__init__()
        self.job_id = job_id


class SettingsSaved(ChangeDone):
    NOTICE = N_("Settings saved.")


class ContinuousSwitched(ChangeDone):
    def __init__(self, on: bool) -> None:
        super().__init__()
        self.on = on

    @property
    def notice(self) -> str:
        return _("Continuous conversations are on.") if self.on else _("Continuous conversations are off.")


class TemplateSaved(ChangeDone):
    def __init__(self, language: str) -> None:
        super().__init__()
        self.language = language

    @property
    def notice(self) -> str:
        return _("The email template for {language} is saved.").format(language=self.language)


class TemplateReset(ChangeDone):
    def __init__(self, language: str) -> None:
        super().__init__()
        self.language = language

    @property
    def notice(self) -> str:
        return _("The email template for {language} is the shipped one again.").format(language=self.language)


class TriggerSwitched(ChangeDone):
    def __init__(self, trigger_id: int, active: bool) -> None:
        super().__init__()
        self.trigger_id = trigger_id
        self.active = active

    @property
    def notice(self) -> str:
        return _("Trigger on.") if self.active else _("Trigger off.")


class TriggerTextSaved(ChangeDone):
    NOTICE = N_("Trigger text saved.")

    def __init__(self, trigger_id: int, language: str) -> None:
        super().__init__()
        self.trigger_id = trigger_id
        self.language = language


# --- agents working together (tui/screens/collaboration.py) -------------------------------------------------
class NoteAdded(ConversationChanged):
    NOTICE = N_("Note added; only agents see it.")


class ConversationTransferred(ConversationChanged):
    NOTICE = N_("Transferred.")


class TagsChanged(ConversationChanged):
    NOTICE = N_("Tags saved.")


@dataclass(frozen=True)
class AgentChoice:
    """An agent offered in the transfer picker, with their status then."""

    id: int
    name: str
    handle: str
    status: str  # core.models.AgentStatus value


class TransferTargetsRead(Message):
    """The other agents were read for the transfer picker of conversation_id."""

    def __init__(self, conversation_id: int, agents: list[AgentChoice]) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.agents = agents


# --- canned replies (tui/screens/macros.py) -------------------------------------------------------------------
@dataclass(frozen=True)
class MacroChoice:
    """A canned reply offered in the picker or listed in Settings."""

    id: int
    name: str
    languages: tuple[str, ...]
    preview: str  # the start of its first text, on one line
    actions: str  # what sending applies, worded for the agent ("" when nothing)


class MacrosRead(Message):
    """The canned replies were read (for the picker of conversation_id, or 0 for the Settings list)."""

    def __init__(self, conversation_id: int, macros: list[MacroChoice]) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.macros = macros


class MacroRendered(Message):
    """A canned reply was filled in for conversation_id: its text goes into the reply box."""

    def __init__(self, conversation_id: int, macro_id: int, name: str, language: str, text: str,
                 actions: str) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.macro_id = macro_id
        self.name = name
        self.language = language
        self.text = text
        self.actions = actions


class MacroSaved(ChangeDone):
    NOTICE = N_("Canned reply saved.")


class MacroDeleted(ChangeDone):
    NOTICE = N_("Canned reply deleted.")
# --- who else is in a conversation (typing and viewing indicators) -------------------------------------------
class ActivityRead(Message, bubble=False):
    """The activity line's worker read who is viewing or typing in conversation_id (core.activity.LiveActivity)."""

    def __init__(self, conversation_id: int, text: object) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.text = text  # a rich Text built in the worker from people's names (never markup)


class TypingPreviewSwitched(ChangeDone):
    def __init__(self, on: bool) -> None:
        super().__init__()
        self.on = on

    @property
    def notice(self) -> str:
        return (_("Typing preview is on: agents see what end users type before they send it.") if self.on
                else _("Typing preview is off: agents see only that an end user is typing."))


class ArticleSaved(ChangeDone):
    NOTICE = N_("Article saved.")

    def __init__(self, article_id: int) -> None:
        super().__init__()
        self.article_id = article_id


class ArticlePublished(ChangeDone):
    def __init__(self, article_id: int, published: bool) -> None:
        super().__init__()
        self.article_id = article_id
        self.published = published

    @property
    def notice(self) -> str:
        return _("Article published.") if self.published else _("Article unpublished: it is a draft again.")


class ArticleCreated(ChangeDone):
    NOTICE = N_("Article created as a draft.")

    def __init__(self, article_id: int) -> None:
        super().__init__()
        self.article_id = article_id

"""Canned replies (macros): named texts per language, rendered in the template sandbox, with optional actions."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select

from core.agents import AgentService
from core.clock import Clock
from core.collaboration import CollaborationService, clean_tag
from core.config import Config
from core.conversation_writes import ALLOWED_TRANSITIONS, change_status
from core.conversations import ConversationService
from core.errors import InvalidInput, NotFound
from core.event_kinds import EventKind
from core.events import record_event
from core.i18n import _
from core.identity import return_link_url
from core.labels import conversation_language
from core.language_tags import language_tag
from core.models import ConversationStatus, Macro, Message, row_id
from core.settings import SettingsService
from core.template_sandbox import OverrideError, check_syntax, sandbox, undeclared_names
from core.text import MAX_BODY_CHARS, MAX_NAME_CHARS, clean_name
from core.tokens import TokenSigner
from core.transactions import transactional

# The names a macro text may use; anything else is an error when it is saved.
VARIABLES = ("end_user_name", "agent_name", "conversation_url")
STATUSES = tuple(status.value for status in ConversationStatus)


@dataclass(frozen=True)
class MacroDraft:
    """What an admin (or an imported file) gives for one macro."""

    name: str
    texts: dict[str, str]
    set_status: str | None = None
    assign_to_me: bool = False
    add_tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class RenderedMacro:
    macro_id: int
    name: str
    language: str  # the language whose text was used
    text: str


def pick_text(texts: dict[str, str], *preferences: str | None) -> tuple[str, str]:
    """(language, text): the first preference with a text (exact, then by language alone: de-AT finds de),
    else the first text stored. preferences are the conversation's language, then the account default."""
    for preference in preferences:
        if not preference:
            continue
        tag = language_tag(preference)
        for candidate in (tag, tag.split("_")[0]):
            if candidate in texts:
                return candidate, texts[candidate]
    first = next(iter(texts))
    return first, texts[first]


def _public_url(config: Config) -> str:
    # The same rule as the widget server's own address in emails (mail.notification_content.widget_public_url).
    return (config.widget.public_url or f"http://{config.widget.host}:{config.widget.port}").rstrip("/")


class MacroService:
    """Admins' canned replies; every public method that changes state is one transaction."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def all(self) -> list[Macro]:
        return list(self.session.exec(select(Macro).order_by(col(Macro.name))))

    def get(self, macro_id: int) -> Macro:
        macro = self.session.get(Macro, macro_id)
        if macro is None:
            raise NotFound(_("There is no canned reply with id {id}.").format(id=macro_id))
        return macro

    def by_name(self, name: str) -> Macro | None:
        return self.session.exec(select(Macro).where(Macro.name == (name or "").strip())).first()

    @staticmethod
    def checked(draft: MacroDraft) -> MacroDraft:
        """draft cleaned, or InvalidInput naming the field: a name, at least one text, known languages and status,
        texts the sandbox parses and that use only the known variables."""
        name = clean_name(draft.name, MAX_NAME_CHARS)
        if not name:
            raise InvalidInput(_("A canned reply needs a name."))
        texts: dict[str, str] = {}
        for language, text in draft.texts.items():
            if not isinstance(text, str) or not text.strip():
                continue
            if len(text) > MAX_BODY_CHARS:
                raise InvalidInput(_("The {language} text of {name!r} is longer than {limit} characters.").format(
                    language=language, name=name, limit=MAX_BODY_CHARS))
            try:
                check_syntax(language, text)
            except OverrideError as error:
                raise InvalidInput(_("The {language} text of {name!r} has an error on line {line}: {reason}").format(
                    language=language, name=name, line=error.line or 1, reason=error.reason)) from None
            _check_variables(name, language, text)
            texts[language_tag(language)] = text.replace("\r\n", "\n").strip("\n")
        if not texts:
            raise InvalidInput(_("The canned reply {name!r} has no text; write one in at least one language.").format(
                name=name))
        status = draft.set_status or None
        if status is not None and status not in STATUSES:
            raise InvalidInput(_("Unknown status {status!r}; use queued, open, pending or solved.").format(
                status=status))
        tags = tuple(dict.fromkeys(clean_tag(tag) for tag in draft.add_tags))
        return MacroDraft(name, texts, status, bool(draft.assign_to_me), tags)

    @transactional
    def save(self, draft: MacroDraft, macro_id: int | None = None) -> Macro:
        """Create a macro, or replace macro_id's fields; names are unique."""
        draft = self.checked(draft)
        same_name = self.by_name(draft.name)
        if same_name is not None and same_name.id != macro_id:
            raise InvalidInput(_("A canned reply named {name!r} exists already.").format(name=draft.name))
        now = self.clock.now()
        macro = self.get(macro_id) if macro_id is not None else Macro(name=draft.name, created_at=now, updated_at=now)
        macro.name = draft.name
        macro.texts = dict(draft.texts)
        macro.set_status = draft.set_status
        macro.assign_to_me = draft.assign_to_me
        macro.add_tags = list(draft.add_tags)
        macro.updated_at = now
        self.session.add(macro)
        self.session.flush()
        record_event(self.session, now, EventKind.macro_saved, None, macro_id=macro.id, name=macro.name)
        return macro

    @transactional
    def delete(self, macro_id: int) -> None:
        macro = self.get(macro_id)
        self.session.delete(macro)
        record_event(self.session, self.clock.now(), EventKind.macro_deleted, None, macro_id=macro_id,
                     name=macro.name)

    @transactional
    def import_drafts(self, drafts: list[MacroDraft]) -> tuple[int, int]:
        """Create or replace (by name) every draft, all or nothing; returns (created, updated)."""
        created = updated = 0
        names: set[str] = set()
        for draft in drafts:
            checked = self.checked(draft)
            if checked.name in names:
                raise InvalidInput(_("The canned reply {name!r} is in the file twice.").format(name=checked.name))
            names.add(checked.name)
            existing = self.by_name(checked.name)
            self.save(checked, existing.id if existing is not None else None)
            if existing is None:
                created += 1
            else:
                updated += 1
        return created, updated

    # --- using one ---------------------------------------------------------------------------------------
    def languages_for(self, conversation_id: int) -> tuple[str | None, str]:
        """The languages a reply in conversation_id is chosen by: the conversation's, then the account default."""
        conversations = ConversationService(self.session, self.clock)
        conversation = conversations.get(conversation_id)
        end_user = conversations.end_user(conversation.end_user_id)
        return (conversation_language(end_user.language, conversation.language),
                SettingsService(self.session, self.clock).load().default_language)

    def render(self, macro_id: int, conversation_id: int, agent_id: int, config: Config) -> RenderedMacro:
        """The macro's text for this conversation: in its language (else the account default), with its variables
        filled in; InvalidInput when the text cannot be rendered."""
        macro = self.get(macro_id)
        conversations = ConversationService(self.session, self.clock)
        conversation = conversations.get(conversation_id)
        end_user = conversations.end_user(conversation.end_user_id)
        agent = AgentService(self.session, self.clock).get(agent_id)
        language, text = pick_text(macro.texts, *self.languages_for(conversation_id))
        variables: dict[str, Any] = {"end_user_name": end_user.name or "", "agent_name": agent.name}
        if "conversation_url" in undeclared_names(text):  # a signed link: made only when the text shows one
            expires = self.clock.now() + timedelta(days=config.widget.return_link_days)
            token = TokenSigner(config.secret()).return_link_token(row_id(conversation), expires)
            variables["conversation_url"] = return_link_url(_public_url(config), token)
        try:
            rendered = sandbox().from_string(text).render(variables)
        except OverrideError:
            raise
        except Exception as exc:  # noqa: BLE001 - the sandbox raises many kinds; each is the admin's text
            raise InvalidInput(_("The canned reply {name!r} cannot be filled in: {reason}").format(
                name=macro.name, reason=exc)) from None
        return RenderedMacro(row_id(macro), macro.name, language, rendered)

    @transactional
    def send(self, macro_id: int, conversation_id: int, agent_id: int, body: str, *,
             email_fallback: bool = True) -> Message:
        """Post body (the agent's reply, begun from the macro) and apply the macro's actions, in one transaction.

        A status the conversation cannot move to from where it is (a solved one cannot become pending) is left as
        it is: the reply matters more than the status, and the agent sees the status on screen."""
        macro = self.get(macro_id)
        conversations = ConversationService(self.session, self.clock)
        message = conversations.post_agent_message(conversation_id, agent_id, body, email_fallback=email_fallback)
        conversation = conversations.get(conversation_id, lock=True)
        if macro.assign_to_me and conversation.assignee_id != agent_id:
            conversations.assign(conversation_id, agent_id)
        if macro.add_tags:
            CollaborationService(self.session, self.clock).change_tags(conversation_id, list(macro.add_tags), [])
        if macro.set_status:
            conversation = conversations.get(conversation_id, lock=True)
            status = ConversationStatus(macro.set_status)
            if conversation.status is not status and status in ALLOWED_TRANSITIONS[conversation.status]:
                change_status(self.session, self.clock.now(), conversation, status)
        return message


def _check_variables(name: str, language: str, text: str) -> None:
    unknown = sorted(undeclared_names(text) - set(VARIABLES))
    if unknown:
        raise InvalidInput(_("The {language} text of {name!r} uses {unknown}; a canned reply knows only {known}.")
                           .format(language=language, name=name, unknown=", ".join(unknown),
                                   known=", ".join(VARIABLES)))

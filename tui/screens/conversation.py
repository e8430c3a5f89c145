"""One conversation: the transcript, a reply box, and the agent's actions on it and on its end user."""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from sqlmodel import Session
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Static, TextArea

from core.attachments import AttachmentService
from core.conversations import ConversationService
from core.end_users import EndUserService
from core.i18n import available_languages
from core.identity import IdentityService
from core.labels import conversation_language, end_user_label
from core.labels import language_label as language_tag_label
from core.macros import MacroService
from core.models import AuthorKind, ConversationStatus
from tui.attachment_files import open_or_save, read_file_to_attach
from tui.console_context import ConsoleContext
from tui.formatting import language_choices, language_label, status_label
from tui.i18n import N_, _
from tui.messages import (
    AttachmentFetched,
    AttachmentPreviewRead,
    ChangeDone,
    ConversationAssigned,
    ConversationReleased,
    ConversationReopened,
    ConversationStatusSet,
    DraftKept,
    EndUserBlocked,
    EndUserChanged,
    EndUserEmailConfirmed,
    EndUserEmailSaved,
    EndUserLanguageSaved,
    EndUserUnblocked,
    FileAttached,
    LiveChanged,
    ProfilesMerged,
    ReplySent,
)
from tui.satisfaction import rating_line
from tui.screens.article_picker import ArticleLink, ArticlePicker
from tui.screens.attachments import AttachFileScreen, AttachmentPickScreen, FileChoice
from tui.screens.collaboration import CollaborationActions
from tui.screens.data_requests import DATA_REQUEST_ACTIONS, DataRequestActions
from tui.screens.image_preview import ImagePreviewScreen, NotPreviewable, decode_image
from tui.screens.macros import MacroActions
from tui.screens.prompt import ConfirmScreen, LanguageScreen, PromptScreen
from tui.screens.workers import show_change_done
from tui.text import literal
from tui.transcript import ConversationView, read_conversation
from tui.widgets.activity_line import ActivityLine
from tui.widgets.key_bar import KeyBar
from tui.widgets.note_view import transcript_boxes
from tui.widgets.reply_area import ReplyArea


class ConversationLoaded(Message):
    """The transcript of a conversation was read; generation tells a stale result from the latest."""

    def __init__(self, generation: int, view: ConversationView) -> None:
        super().__init__()
        self.generation = generation
        self.view = view


# What may run while the conversation is still loading: nothing that changes it.
_WHILE_LOADING = frozenset({"reply", "leave_reply_or_back", "back", "scroll_down", "scroll_up"})


class ConversationScreen(MacroActions, CollaborationActions, DataRequestActions, Screen):
    """Transcript and reply box of one conversation; reading it marks it read for agents.

    The app keeps one instance installed and shows each conversation in it (show()), so switching conversations
    does not build the widgets, styles and footer again.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "send", N_("Send"), id="conversation.send"),
        Binding("ctrl+o", "send_without_email", N_("Send without email"), show=False,
                id="conversation.send_without_email"),  # the reply box's title names it
        Binding("r", "reply", N_("Reply"), id="conversation.reply"),
        Binding("ctrl+u", "attach_file", N_("Attach a file"), show=False, id="conversation.attach_file"),
        Binding("f", "open_attachment", N_("Open an attachment"), show=False, id="conversation.open_attachment"),
        Binding("a", "assign", N_("Assign to me"), id="conversation.assign"),
        Binding("u", "release", N_("Release"), show=False, id="conversation.release"),
        Binding("p", "pending", N_("Pending"), show=False, id="conversation.pending"),
        Binding("s", "solve", N_("Solve"), id="conversation.solve"),
        Binding("o", "reopen", N_("Reopen"), id="conversation.reopen"),
        Binding("e", "edit_email", N_("Email address"), show=False, id="conversation.email"),
        Binding("l", "edit_language", N_("Language"), show=False, id="conversation.language"),
        Binding("v", "confirm_email", N_("Confirm email address"), show=False, id="conversation.confirm_email"),
        Binding("m", "merge_claimants", N_("Merge profiles with this address"), show=False, id="conversation.merge"),
        Binding("b", "toggle_block", N_("Block/unblock"), show=False, id="conversation.block"),
        # Collaboration (tui/screens/collaboration.py): off the key bar, listed in help and the palette.
        Binding("ctrl+k", "pick_macro", N_("Canned reply"), show=False, id="conversation.macro"),
        Binding("N", "note", N_("Internal note"), show=False, id="conversation.note"),
        Binding("t", "transfer", N_("Transfer to another agent"), show=False, id="conversation.transfer"),
        Binding("number_sign", "tags", N_("Tags"), key_display="#", show=False, id="conversation.tags"),
        # Data-protection requests (tui/screens/data_requests.py): admins only, rare, so off the key bar.
        Binding("E", "export_end_user", N_("Export end user's data"), show=False, id="conversation.export_end_user"),
        Binding("X", "erase_end_user", N_("Erase end user's data"), show=False, id="conversation.erase_end_user"),
        Binding("j", "scroll_down", N_("Scroll down"), show=False, id="conversation.down"),
        Binding("k", "scroll_up", N_("Scroll up"), show=False, id="conversation.up"),
        # ctrl+l: TextArea leaves it free, so it works while writing the reply.
        Binding("ctrl+l", "insert_article_link", N_("Insert article link"), show=False, id="conversation.article"),
        Binding("escape", "leave_reply_or_back", N_("Back"), id="conversation.escape"),
        Binding("q", "back", N_("Back"), show=False, id="conversation.back"),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__()
        self.context = context
        self.conversation_id = 0
        self.draft: str | None = None  # handed down by the app; put into the reply box when shown
        self.shown: ConversationView | None = None
        self.generation = 0
        self.busy = False
        self.reload_wanted = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="conversation-header", markup=False)
        yield VerticalScroll(id="transcript")
        yield ActivityLine(self.context, id="activity")
        reply = ReplyArea(id="reply", soft_wrap=True, show_line_numbers=False)  # Ctrl+K or ':' picks a canned reply
        reply.border_title = _("Reply (Ctrl+S sends, Ctrl+O sends without email fallback)")
        yield reply
        yield KeyBar()

    def show(self, conversation_id: int, draft: str) -> None:
        """Show another conversation in this screen: its draft, and its transcript once read."""
        self.conversation_id = conversation_id
        self.draft = draft
        self.shown = None
        self.busy = False
        self.reload_wanted = False
        self.generation += 1  # results for the previous conversation are dropped
        self.pending_macro = None
        self.refresh_bindings()

    def reply_text(self) -> str:
        return self.query_one("#reply", TextArea).text

    def start_loading(self) -> None:
        """Put the draft in, clear what belongs to another conversation, and read the transcript."""
        if self.draft is not None:
            self.query_one("#reply", TextArea).text = self.draft
            self.draft = None
        if self.shown is None or self.shown.conversation.id != self.conversation_id:
            # Another conversation: nothing of the previous one may stay on screen while this one loads.
            self.query_one("#conversation-header", Static).update("")
            self.query_one("#transcript", VerticalScroll).remove_children()
            self.query_one("#transcript").focus()
        self.reload()
        self.query_one(ActivityLine).follow(self.conversation_id)

    def on_screen_resume(self) -> None:
        self.start_loading()

    def on_screen_suspend(self) -> None:
        self.post_message(DraftKept(self.conversation_id, self.reply_text()))
        self.query_one(ActivityLine).stop()

    @on(TextArea.Changed, "#reply")
    def _reply_changed(self, event: TextArea.Changed) -> None:
        self.query_one(ActivityLine).typed(event.text_area.text)

    # --- which keys apply -----------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer only what applies to the conversation shown (the key bar, help and palette follow)."""
        if action in DATA_REQUEST_ACTIONS and not self.data_requests_apply():
            return False  # hidden from agents who are not admins, whatever is shown
        view = self.shown
        if view is None:
            # Loading: nothing of the conversation is on screen yet. Keys typed ahead (Enter on the queue, then at
            # once "r" and a reply) must not solve, assign or block a conversation the agent has not seen.
            return True if action in _WHILE_LOADING else None
        if action in DATA_REQUEST_ACTIONS:
            return True
        conversation, end_user = view.conversation, view.end_user
        status = conversation.status
        applies = {
            "assign": conversation.assignee_id != self.context.agent.id,
            "release": conversation.assignee_id is not None,
            "pending": status not in (ConversationStatus.pending, ConversationStatus.solved),
            "solve": status is not ConversationStatus.solved,
            "reopen": status in (ConversationStatus.pending, ConversationStatus.solved),
            "confirm_email": bool(end_user.email) and not end_user.email_verified,
            "merge_claimants": bool(view.claimants),
            "open_attachment": bool(view.files),
        }
        return applies.get(action, True)

    # --- loading -----------------------------------------------------------------------------------
    def reload(self) -> None:
        if self.busy:
            self.reload_wanted = True
            return
        self.busy = True
        self.generation += 1
        self._load(self.generation, self.conversation_id)

    @work(thread=True, name="conversation-load", group="conversation", exit_on_error=False)
    def _load(self, generation: int, conversation_id: int) -> None:
        with self.context.db.read_session() as session:
            view = read_conversation(session, self.context.clock, conversation_id)
        self.post_message(ConversationLoaded(generation, view))

    @work(thread=True, name="conversation-mark-read", group="conversation-read", exit_on_error=False)
    def _mark_read(self, conversation_id: int, seq: int) -> None:
        with self.context.db.session() as session:
            ConversationService(session, self.context.clock).mark_read(conversation_id, AuthorKind.agent, seq)

    def work_failed(self, worker_name: str, error: BaseException) -> None:
        if worker_name == "conversation-load":
            self.busy = False  # the next live change or resume reads again
            self.reload_wanted = False

    @on(ConversationLoaded)
    def _loaded(self, message: ConversationLoaded) -> None:
        message.stop()
        self.busy = False
        if message.generation == self.generation:
            view = message.view
            self._show(view)
            if view.conversation.agent_read_seq < view.conversation.last_seq:
                # Shown first, then marked read: the agent does not wait for the write.
                self._mark_read(self.conversation_id, view.conversation.last_seq)
        if self.reload_wanted:
            self.reload_wanted = False
            self.reload()

    def _show(self, view: ConversationView) -> None:
        self.shown = view
        self.refresh_bindings()
        now = self.context.clock.now()
        conversation, end_user = view.conversation, view.end_user
        header = Text()
        header.append_text(literal(end_user_label(end_user, _), "bold", one_line=True))
        if end_user.email:
            if end_user.name:
                header.append("  <")
                header.append_text(literal(end_user.email, one_line=True))
                header.append(">")
            header.append(" " + (_("proven") if end_user.email_verified else _("unproven")),
                          style="green" if end_user.email_verified else "yellow")
        header.append("  " + _("language: {language}").format(language=language_label(
            language_tag_label(conversation_language(end_user.language, conversation.language)))))
        header.append("  " + _("status: {status}").format(status=status_label(conversation.status)))
        header.append("  " + _("assignee: "))
        header.append_text(literal(view.assignee_name or "–", one_line=True))
        if conversation.tags:
            header.append("  " + _("tags: "))
            header.append_text(literal(" ".join(f"#{tag}" for tag in conversation.tags), "cyan", one_line=True))
        if end_user.blocked:
            header.append("  " + _("BLOCKED"), style="bold red")
        if view.opt_out is not None:
            how = _("one-click") if view.opt_out.source == "one-click" else _("by email")
            header.append("\n")
            header.append(_("Email notifications stopped by the recipient on {date} ({how})").format(
                date=view.opt_out.stopped_at.date().isoformat(), how=how), style="yellow")
        header.append_text(rating_line(view.rating))
        if view.claimants:
            header.append("\n")
            header.append(_("{count} other profiles gave this address (m merges them after you check):").format(
                count=len(view.claimants)), style="yellow")
            for other in view.claimants:
                header.append("  ")
                header.append_text(literal(end_user_label(other, _), one_line=True))
        if view.articles:
            header.append("\n")
            header.append(_("Articles shown to the end user:"))
            for title, read in view.articles:
                header.append("  ")
                header.append_text(literal(title, one_line=True))
                header.append(" (" + (_("read") if read else _("not opened")) + ")", style="dim")
        self.query_one("#conversation-header", Static).update(header)
        transcript = self.query_one("#transcript", VerticalScroll)
        at_end = transcript.is_vertical_scroll_end or transcript.max_scroll_y == 0
        boxes = transcript_boxes(view, now)  # messages with the internal notes among them
        with self.app.batch_update():
            transcript.remove_children()
            if view.earlier:
                transcript.mount(Static(_("{count} earlier messages are not shown.").format(count=view.earlier),
                                        classes="earlier"))
            transcript.mount_all(boxes)
        if at_end:
            transcript.call_after_refresh(transcript.scroll_end, animate=False)

    @on(LiveChanged)
    def _live_changed(self, message: LiveChanged) -> None:
        # A hidden conversation screen reads again when it is shown (on_screen_resume).
        change = message.change
        if self.is_current and (change.global_change or self.conversation_id in change.conversation_ids):
            self.reload()

    # --- changes, each in a worker ------------------------------------------------------------------------
    @on(ChangeDone)
    def _change_done(self, message: ChangeDone) -> None:
        show_change_done(self, message)
        self.reload()

    @on(ReplySent)
    def _reply_sent(self, message: ReplySent) -> None:
        if message.conversation_id != self.conversation_id:
            return
        reply = self.query_one("#reply", TextArea)
        if reply.text == message.body:  # text typed meanwhile stays
            reply.text = ""
        self.post_message(DraftKept(self.conversation_id, reply.text))

    def _send(self, email_fallback: bool) -> None:
        body = self.reply_text()
        if not body.strip():
            self.notify(_("The reply is empty; write some text first."), severity="warning")
            return
        clock, agent_id, cid = self.context.clock, self.context.agent.id, self.conversation_id
        macro_id = self.macro_to_apply(body)
        self.pending_macro = None
        if macro_id is not None:  # begun from a canned reply: its actions apply with the reply, in one transaction
            self._change(lambda s: MacroService(s, clock).send(macro_id, cid, agent_id, body,
                                                               email_fallback=email_fallback),
                         ReplySent(cid, body, email_fallback))
            return
        self._change(lambda s: ConversationService(s, clock).post_agent_message(
            cid, agent_id, body, email_fallback=email_fallback), ReplySent(cid, body, email_fallback))

    def action_send(self) -> None:
        self._send(True)

    def action_send_without_email(self) -> None:
        self._send(False)

    def action_reply(self) -> None:
        self.query_one("#reply", TextArea).focus()

    def action_insert_article_link(self) -> None:
        """Search the help center in the end user's language and put the picked article's link in the reply."""
        view = self.shown
        language = "en"
        if view is not None:
            language = conversation_language(view.end_user.language, view.conversation.language) or "en"
        reply = self.query_one("#reply", TextArea)

        def picked(link: ArticleLink | None) -> None:
            reply.focus()
            if link is not None:
                reply.insert(f"{link.title}: {link.url}")

        self.app.push_screen(ArticlePicker(self.context, language), picked)

    def action_leave_reply_or_back(self) -> None:
        if isinstance(self.focused, TextArea):
            self.query_one("#transcript").focus()
        else:
            self.action_back()

    def action_back(self) -> None:
        self.app.pop_screen()

    # --- attachments ------------------------------------------------------------------------------------
    def action_open_attachment(self) -> None:
        files = self.shown.files if self.shown else []
        if not files:
            self.notify(_("This conversation has no attachments."), severity="warning")
            return

        def chosen(choice: FileChoice | None) -> None:
            if choice is not None:
                self._fetch_attachment(choice.public_id, choice.preview)

        self.app.push_screen(AttachmentPickScreen(files), chosen)

    @work(thread=True, name="attachment-open", group="attachments", exit_on_error=False)
    def _fetch_attachment(self, public_id: str, preview: bool = False) -> None:
        with self.context.db.read_session() as session:
            files = AttachmentService(session, self.context.clock)
            download = files.content(files.by_public_id(public_id))
        if preview:
            try:  # decoding is work too: done here, off the UI thread
                picture = decode_image(download.name, download.content_type, download.content)
            except NotPreviewable as refusal:
                self.post_message(AttachmentPreviewRead(download.name, None, str(refusal)))
            else:
                self.post_message(AttachmentPreviewRead(download.name, picture, ""))
            return
        path, opened = open_or_save(download, os.environ, Path.home())
        self.post_message(AttachmentFetched(str(path), opened))

    @on(AttachmentFetched)
    def _attachment_fetched(self, message: AttachmentFetched) -> None:
        message.stop()
        text = _("Opened {path}.") if message.opened else _("No display to open it on: saved to {path}.")
        self.notify(text.format(path=message.path), markup=False)

    @on(AttachmentPreviewRead)
    def _preview_read(self, message: AttachmentPreviewRead) -> None:
        message.stop()
        if message.picture is None:
            self.notify(message.reason, severity="warning", markup=False)
        else:
            self.app.push_screen(ImagePreviewScreen(message.name, message.picture))

    def action_attach_file(self) -> None:
        def chosen(path_text: str | None) -> None:
            if path_text:
                self._send_file(path_text)

        self.app.push_screen(AttachFileScreen(), chosen)

    def _send_file(self, path_text: str) -> None:
        context, cid = self.context, self.conversation_id
        max_bytes = context.config.attachments.max_bytes

        def send(session: Session) -> None:
            name, content = read_file_to_attach(path_text, max_bytes)
            files = AttachmentService(session, context.clock, max_bytes=max_bytes)
            files.post_file(cid, AuthorKind.agent, files.check(name, content), agent_id=context.agent.id)

        self._change(send, FileAttached(cid))

    def action_scroll_down(self) -> None:
        self.query_one("#transcript", VerticalScroll).scroll_down()

    def action_scroll_up(self) -> None:
        self.query_one("#transcript", VerticalScroll).scroll_up()

    def _conversation_change(self, call: Callable[[ConversationService, int], object], done: ChangeDone) -> None:
        clock, cid = self.context.clock, self.conversation_id
        self._change(lambda s: call(ConversationService(s, clock), cid), done)

    def action_assign(self) -> None:
        agent_id = self.context.agent.id
        self._conversation_change(lambda c, cid: c.assign(cid, agent_id), ConversationAssigned(self.conversation_id))

    def action_release(self) -> None:
        self._conversation_change(lambda c, cid: c.unassign(cid), ConversationReleased(self.conversation_id))

    def _set_status(self, status: ConversationStatus) -> None:
        self._conversation_change(lambda c, cid: c.set_status(cid, status),
                                  ConversationStatusSet(self.conversation_id, status))

    def action_pending(self) -> None:
        self._set_status(ConversationStatus.pending)

    def action_solve(self) -> None:
        def confirmed(yes: bool | None) -> None:
            if yes:
                self._set_status(ConversationStatus.solved)

        self.app.push_screen(ConfirmScreen(_("Solve this conversation? It leaves the waiting queue; a new message "
                                             "from the end user reopens it.")), confirmed)

    def action_reopen(self) -> None:
        self._conversation_change(lambda c, cid: c.reopen(cid), ConversationReopened(self.conversation_id))

    def _end_user_change(self, call: Callable[[EndUserService, int], object],
                         done: Callable[[int], EndUserChanged]) -> None:
        if self.shown is None or self.shown.end_user.id is None:
            return
        clock, end_user_id = self.context.clock, self.shown.end_user.id
        self._change(lambda s: call(EndUserService(s, clock), end_user_id), done(end_user_id))

    def action_edit_email(self) -> None:
        if self.shown is None:
            return
        current = self.shown.end_user.email or ""

        def save(address: str | None) -> None:
            self._end_user_change(lambda service, uid: service.set_email(uid, address), EndUserEmailSaved)

        def chosen(value: str | None) -> None:
            if value is None:
                return
            address = value.strip() or None
            if not current or address == current:
                save(address)
                return
            question = (_("Replace the end user's email address {old} with {new}? Notifications then go to the new "
                          "address.").format(old=current, new=address) if address else
                        _("Remove the end user's email address {old}? They then get no notifications by email.")
                        .format(old=current))
            self.app.push_screen(ConfirmScreen(question), lambda yes: save(address) if yes else None)

        self.app.push_screen(PromptScreen(_("The end user's email address (empty removes it)"), current), chosen)

    def action_edit_language(self) -> None:
        if self.shown is None:
            return

        def chosen(value: str | None) -> None:
            if value is None:
                return
            self._end_user_change(lambda service, uid: service.set_language(uid, value, by_agent=True),
                                  EndUserLanguageSaved)

        self.app.push_screen(LanguageScreen(_("The end user's language"), self.shown.end_user.language or "",
                                            language_choices(available_languages())), chosen)

    def action_confirm_email(self) -> None:
        if self.shown is None or not self.shown.end_user.email:
            self.notify(_("This end user has no email address to confirm."), severity="warning")
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._end_user_change(lambda service, uid: service.verify_email(uid), EndUserEmailConfirmed)

        self.app.push_screen(ConfirmScreen(_("Confirm that {address} belongs to this end user? Email from it will "
                                             "then join their conversations.").format(
            address=self.shown.end_user.email)), confirmed)

    def action_merge_claimants(self) -> None:
        if self.shown is None or not self.shown.claimants or self.shown.end_user.id is None:
            self.notify(_("No other profile gave this address."), severity="warning")
            return
        others = [other.id for other in self.shown.claimants if other.id is not None]
        clock, agent_id, target = self.context.clock, self.context.agent.id, self.shown.end_user.id

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._change(lambda s: IdentityService(s, clock).merge_claimants(target, agent_id, others),
                             ProfilesMerged(target))

        self.app.push_screen(ConfirmScreen(_("Merge {count} other profiles into this one? Their conversations move "
                                             "here. Do this only when you know they are the same person.").format(
            count=len(others))), confirmed)

    def action_toggle_block(self) -> None:
        if self.shown is None:
            return
        if self.shown.end_user.blocked:
            self._end_user_change(lambda service, uid: service.unblock(uid), EndUserUnblocked)
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._end_user_change(lambda service, uid: service.block(uid), EndUserBlocked)

        self.app.push_screen(ConfirmScreen(_("Block this end user? Their widget and their email address will be "
                                             "refused until you unblock them (b again).")), confirmed)

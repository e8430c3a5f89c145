"""One conversation: the transcript, a reply box, and the agent's actions on it and on its end user."""
from __future__ import annotations

from typing import Any, Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Static, TextArea

from core.conversations import ConversationService
from core.end_users import EndUserService
from core.errors import ThreadlineError
from core.identity import IdentityService
from core.labels import conversation_language, end_user_label, language_label
from core.models import AuthorKind, ConversationStatus
from tui.formatting import status_label
from tui.i18n import N_, _, translate_bindings
from tui.screens.changes import ChangesInWorkers
from tui.messages import ActionDone, LiveChange, Loaded
from tui.screens.prompt import ConfirmScreen, PromptScreen
from tui.text import literal
from tui.transcript import ConversationView, read_conversation
from tui.widgets.key_bar import KeyBar
from tui.widgets.message_view import MessageBox


class ConversationScreen(ChangesInWorkers, Screen):
    """Transcript and reply box of one conversation; reading it marks it read for agents.

    The app keeps one instance installed and shows each conversation in it (show()), so switching conversations
    does not build the widgets, styles and footer again.
    """

    BINDINGS = [
        Binding("ctrl+s", "send", N_("Send"), id="conversation.send"),
        Binding("ctrl+o", "send_without_email", N_("Send without email"), id="conversation.send_without_email"),
        Binding("r", "reply", N_("Reply"), id="conversation.reply"),
        Binding("a", "assign", N_("Assign to me"), id="conversation.assign"),
        Binding("u", "release", N_("Release"), show=False, id="conversation.release"),
        Binding("p", "pending", N_("Pending"), show=False, id="conversation.pending"),
        Binding("s", "solve", N_("Solve"), id="conversation.solve"),
        Binding("o", "reopen", N_("Reopen"), show=False, id="conversation.reopen"),
        Binding("e", "edit_email", N_("Email address"), show=False, id="conversation.email"),
        Binding("l", "edit_language", N_("Language"), show=False, id="conversation.language"),
        Binding("v", "confirm_email", N_("Confirm email address"), show=False, id="conversation.confirm_email"),
        Binding("m", "merge_claimants", N_("Merge profiles with this address"), show=False, id="conversation.merge"),
        Binding("b", "toggle_block", N_("Block/unblock"), show=False, id="conversation.block"),
        Binding("j", "scroll_down", N_("Scroll down"), show=False, id="conversation.down"),
        Binding("k", "scroll_up", N_("Scroll up"), show=False, id="conversation.up"),
        Binding("escape", "leave_reply_or_back", N_("Back"), show=False, id="conversation.escape"),
        Binding("q", "back", N_("Back"), id="conversation.back"),
    ]

    def __init__(self, conversation_id: int = 0) -> None:
        super().__init__()
        translate_bindings(self)
        self.conversation_id = conversation_id
        self.shown: ConversationView | None = None
        self.generation = 0
        self.busy = False
        self.reload_wanted = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="conversation-header", markup=False)
        yield VerticalScroll(id="transcript")
        reply = TextArea(id="reply", soft_wrap=True, show_line_numbers=False)
        reply.border_title = _("Reply (Ctrl+S sends, Ctrl+O sends without email fallback)")
        yield reply
        yield KeyBar()

    def show(self, conversation_id: int) -> None:
        """Show another conversation in this screen: its draft, and its transcript once read."""
        self.conversation_id = conversation_id
        self.shown = None
        self.busy = False
        self.reload_wanted = False
        self.generation += 1  # results for the previous conversation are dropped

    def on_screen_resume(self) -> None:
        if self.shown is None or self.shown.conversation.id != self.conversation_id:
            # Another conversation: nothing of the previous one may stay on screen while this one loads.
            self.query_one("#conversation-header", Static).update("")
            self.query_one("#transcript", VerticalScroll).remove_children()
            self.query_one("#transcript").focus()
        self.query_one("#reply", TextArea).text = self.app.drafts.get(self.conversation_id, "")
        self.reload()

    def on_screen_suspend(self) -> None:
        text = self.query_one("#reply", TextArea).text
        if text.strip():
            self.app.drafts[self.conversation_id] = text
        else:
            self.app.drafts.pop(self.conversation_id, None)

    # --- loading -----------------------------------------------------------------------------------
    def reload(self) -> None:
        if self.busy:
            self.reload_wanted = True
            return
        self.busy = True
        self.generation += 1
        self._load(self.generation, self.conversation_id)

    @work(thread=True, group="conversation", exit_on_error=False)
    def _load(self, generation: int, conversation_id: int) -> None:
        context = self.app.context
        view = None
        try:
            with context.db.read_session() as session:
                view = read_conversation(session, context.clock, conversation_id)
        except ThreadlineError as exc:
            self.post_message(ActionDone("conversation.load", exc.message, error=True))
        self.post_message(Loaded("conversation", generation, view))
        if view is not None and view.conversation.agent_read_seq < view.conversation.last_seq:
            # Shown first, then marked read: the agent does not wait for the write.
            try:
                with context.db.session() as session:
                    ConversationService(session, context.clock).mark_read(
                        conversation_id, AuthorKind.agent, view.conversation.last_seq)
            except ThreadlineError as exc:
                self.post_message(ActionDone("conversation.read", exc.message, error=True))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        if message.kind != "conversation":
            return
        message.stop()
        self.busy = False
        if message.data is not None and message.generation == self.generation:
            self._show(message.data)
        if self.reload_wanted:
            self.reload_wanted = False
            self.reload()

    def _show(self, view: ConversationView) -> None:
        self.shown = view
        now = self.app.context.clock.now()
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
        header.append("  " + _("language: {language}").format(
            language=language_label(conversation_language(end_user.language, conversation.language)) or "–"))
        header.append("  " + _("status: {status}").format(status=status_label(conversation.status)))
        header.append("  " + _("assignee: "))
        header.append_text(literal(view.assignee_name or "–", one_line=True))
        if end_user.blocked:
            header.append("  " + _("BLOCKED"), style="bold red")
        if view.claimants:
            header.append("\n")
            header.append(_("{count} other profiles gave this address (m merges them after you check):").format(
                count=len(view.claimants)), style="yellow")
            for other in view.claimants:
                header.append("  ")
                header.append_text(literal(end_user_label(other, _), one_line=True))
        self.query_one("#conversation-header", Static).update(header)
        transcript = self.query_one("#transcript", VerticalScroll)
        at_end = transcript.is_vertical_scroll_end or transcript.max_scroll_y == 0
        boxes = [MessageBox(message, now) for message in view.messages]
        with self.app.batch_update():
            transcript.remove_children()
            if view.earlier:
                transcript.mount(Static(_("{count} earlier messages are not shown.").format(count=view.earlier),
                                        classes="earlier"))
            transcript.mount_all(boxes)
        if at_end:
            transcript.call_after_refresh(transcript.scroll_end, animate=False)

    def live_changed(self, change: LiveChange) -> None:
        # A hidden conversation screen reads again when it is shown (on_screen_resume).
        if self.is_current and (change.global_change or self.conversation_id in change.conversation_ids):
            self.reload()

    # --- changes, each in a worker ------------------------------------------------------------------------
    @on(ActionDone)
    def _action_done(self, message: ActionDone) -> None:
        self._tell_outcome(message)
        if message.kind.startswith("conversation.send") and not message.error:
            reply = self.query_one("#reply", TextArea)
            if reply.text == message.data or message.data is None:
                reply.text = ""
            self.app.drafts.pop(self.conversation_id, None)
        if message.kind not in ("conversation.load", "conversation.read"):
            self.reload()

    def _send(self, email_fallback: bool) -> None:
        body = self.query_one("#reply", TextArea).text
        if not body.strip():
            self.notify(_("The reply is empty; write some text first."), severity="warning")
            return
        clock, agent_id, cid = self.app.context.clock, self.app.agent.id, self.conversation_id
        kind = "conversation.send" if email_fallback else "conversation.send_without_email"
        self._send_worker(kind, body, lambda s: ConversationService(s, clock).post_agent_message(
            cid, agent_id, body, email_fallback=email_fallback))

    @work(thread=True, group="conversation-action", exit_on_error=False)
    def _send_worker(self, kind: str, body: str, change: Callable[[Any], Any]) -> None:
        try:
            with self.app.context.db.session() as session:
                change(session)
        except ThreadlineError as exc:
            self.post_message(ActionDone(kind, exc.message, error=True))
            return
        self.post_message(ActionDone(kind, "", data=body))

    def action_send(self) -> None:
        self._send(True)

    def action_send_without_email(self) -> None:
        self._send(False)

    def action_reply(self) -> None:
        self.query_one("#reply", TextArea).focus()

    def action_leave_reply_or_back(self) -> None:
        if isinstance(self.focused, TextArea):
            self.query_one("#transcript").focus()
        else:
            self.action_back()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_scroll_down(self) -> None:
        self.query_one("#transcript", VerticalScroll).scroll_down()

    def action_scroll_up(self) -> None:
        self.query_one("#transcript", VerticalScroll).scroll_up()

    def _conversation_change(self, kind: str, call: Callable[[ConversationService], Any], done: str) -> None:
        clock = self.app.context.clock
        self._change(kind, lambda s: call(ConversationService(s, clock)), done)

    def action_assign(self) -> None:
        agent_id, cid = self.app.agent.id, self.conversation_id
        self._conversation_change("conversation.assign", lambda c: c.assign(cid, agent_id),
                                  _("Assigned to you."))

    def action_release(self) -> None:
        cid = self.conversation_id
        self._conversation_change("conversation.release", lambda c: c.unassign(cid),
                                  _("Released to the queue."))

    def action_pending(self) -> None:
        cid = self.conversation_id
        self._conversation_change("conversation.pending", lambda c: c.set_status(cid, ConversationStatus.pending),
                                  _("Set to pending."))

    def action_solve(self) -> None:
        cid = self.conversation_id
        self._conversation_change("conversation.solve", lambda c: c.set_status(cid, ConversationStatus.solved),
                                  _("Solved."))

    def action_reopen(self) -> None:
        cid = self.conversation_id
        self._conversation_change("conversation.reopen", lambda c: c.reopen(cid), _("Reopened."))

    def _end_user_change(self, kind: str, call: Callable[[EndUserService, int], Any], done: str) -> None:
        if self.shown is None:
            return
        clock, end_user_id = self.app.context.clock, self.shown.end_user.id
        self._change(kind, lambda s: call(EndUserService(s, clock), end_user_id), done)

    def action_edit_email(self) -> None:
        if self.shown is None:
            return

        def chosen(value: str | None) -> None:
            if value is None:
                return
            address = value.strip() or None
            self._end_user_change("conversation.email", lambda service, uid: service.set_email(uid, address),
                                  _("Email address saved."))

        self.app.push_screen(PromptScreen(_("The end user's email address (empty removes it)"),
                                          self.shown.end_user.email or ""), chosen)

    def action_edit_language(self) -> None:
        if self.shown is None:
            return

        def chosen(value: str | None) -> None:
            if value is None:
                return
            self._end_user_change("conversation.language",
                                  lambda service, uid: service.set_language(uid, value, by_agent=True),
                                  _("Language saved."))

        self.app.push_screen(PromptScreen(_("The end user's language (e.g. en, de, pt-BR)"),
                                          self.shown.end_user.language or ""), chosen)

    def action_confirm_email(self) -> None:
        if self.shown is None or not self.shown.end_user.email:
            self.notify(_("This end user has no email address to confirm."), severity="warning")
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._end_user_change("conversation.confirm_email", lambda service, uid: service.verify_email(uid),
                                      _("The email address is confirmed."))

        self.app.push_screen(ConfirmScreen(_("Confirm that {address} belongs to this end user? Email from it will "
                                             "then join their conversations.").format(
            address=self.shown.end_user.email)), confirmed)

    def action_merge_claimants(self) -> None:
        if self.shown is None or not self.shown.claimants:
            self.notify(_("No other profile gave this address."), severity="warning")
            return
        others = [other.id for other in self.shown.claimants]
        clock, agent_id, target = self.app.context.clock, self.app.agent.id, self.shown.end_user.id

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._change("conversation.merge",
                             lambda s: IdentityService(s, clock).merge_claimants(target, agent_id, others),
                             _("Profiles merged into this one."))

        self.app.push_screen(ConfirmScreen(_("Merge {count} other profiles into this one? Their conversations move "
                                             "here. Do this only when you know they are the same person.").format(
            count=len(others))), confirmed)

    def action_toggle_block(self) -> None:
        if self.shown is None:
            return
        if self.shown.end_user.blocked:
            self._end_user_change("conversation.unblock", lambda service, uid: service.unblock(uid),
                                  _("The end user is unblocked."))
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._end_user_change("conversation.block", lambda service, uid: service.block(uid),
                                      _("The end user is blocked: their widget and email address are refused."))

        self.app.push_screen(ConfirmScreen(_("Block this end user? Their widget and their email address will be "
                                             "refused until you unblock them (b again).")), confirmed)

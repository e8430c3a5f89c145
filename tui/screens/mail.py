"""Mail that needs an agent: held, refused and unmatched emails to post or discard, failed notifications."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from core.inbound import InboundService
from core.models import InboundEmail, InboundOutcome
from core.outbox import OutboxService
from tui.console_context import ConsoleContext
from tui.i18n import N_, _
from tui.messages import ChangeDone, HeldEmailAccepted, InboundEmailDiscarded, LiveChanged, NotificationRetried
from tui.screens.pick_conversation import ConversationPicker
from tui.screens.prompt import ConfirmScreen, TextScreen
from tui.screens.workers import ChangesInWorkers, show_change_done
from tui.text import literal, plain, short_time
from tui.widgets.key_bar import KeyBar

ROWS = 100
OUTCOME_LABELS = {
    InboundOutcome.refused: N_("refused"),
    InboundOutcome.auto_reply: N_("auto-reply"),
    InboundOutcome.bounce: N_("bounce"),
}


@dataclass(frozen=True)
class MailRow:
    """One email as the screen shows it, read from an inbound record or an outbox job."""

    id: int
    when: Any
    address: str
    subject: str
    reason: str
    source: str
    sender: str = ""  # the bare address, to search the sender's conversations when an agent picks one


@dataclass
class MailData:
    held: list[MailRow] = field(default_factory=list)
    refused: list[MailRow] = field(default_factory=list)
    failed: list[MailRow] = field(default_factory=list)


class MailLoaded(Message):
    """The mail that needs an agent was read; generation tells a stale result from the latest."""

    def __init__(self, generation: int, data: MailData) -> None:
        super().__init__()
        self.generation = generation
        self.data = data


def _inbound_row(record: InboundEmail) -> MailRow:
    source = (record.raw_source or b"").decode("utf-8", "replace") or record.original_text or record.text
    address = f"{record.sender_name} <{record.sender}>" if record.sender_name else record.sender
    reason = record.reason
    if record.outcome is not InboundOutcome.held:
        reason = f"{_(OUTCOME_LABELS.get(record.outcome, record.outcome.value))}: {reason}"
    if record.id is None:
        raise ValueError("record has no id: it was not read from the database")
    return MailRow(id=record.id, when=record.received_at, address=address, subject=record.subject,
                   reason=reason, source=source, sender=record.sender)


def _job_row(job: Any) -> MailRow:
    return MailRow(id=job.id, when=job.sent_at or job.created_at, address=job.to_address,
                   subject=job.status.value, reason=job.last_error or "", source=job.last_error or "")


class MailScreen(ChangesInWorkers, Screen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "back", N_("Back"), id="mail.back"),  # first: in view on a narrow terminal
        Binding("a", "accept", N_("Post email"), id="mail.accept"),
        Binding("c", "post_into", N_("Post into conversation…"), id="mail.post_into"),
        Binding("n", "post_new", N_("Post as new conversation"), show=False, id="mail.post_new"),
        Binding("x", "reject", N_("Discard email"), id="mail.reject"),
        Binding("t", "retry", N_("Retry notification"), id="mail.retry"),
        Binding("enter", "show_source", N_("Show source"), id="mail.source"),
        Binding("j", "cursor_down", N_("Down"), show=False, id="mail.down"),
        Binding("k", "cursor_up", N_("Up"), show=False, id="mail.up"),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__()
        self.context = context
        self.data: MailData | None = None
        self.generation = 0

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="mail-body"):
            yield Static(_("Held emails (valid reply token, other sender)"), classes="section-title")
            yield DataTable(id="held", cursor_type="row", classes="table-section")
            yield Static(_("Refused and unmatched emails"), classes="section-title")
            yield DataTable(id="refused", cursor_type="row", classes="table-section")
            yield Static(_("Failed or bounced notifications"), classes="section-title")
            yield DataTable(id="failed", cursor_type="row", classes="table-section")
        yield KeyBar()

    def on_mount(self) -> None:
        for table_id in ("held", "refused", "failed"):
            table = self.query_one(f"#{table_id}", DataTable)
            # The reason comes before the subject and is as wide as its longest text: on a narrow terminal it is
            # still in view, and the table scrolls sideways rather than cut it off.
            table.add_column(_("When"), key="when", width=16)
            table.add_column(_("Address"), key="address", width=24)
            table.add_column(_("Reason"), key="reason", width=40)  # fixed: auto-width settles at idle
            table.add_column(_("Subject") if table_id != "failed" else _("Status"), key="subject", width=24)
        self.query_one("#held", DataTable).focus()
        self.reload()

    def reload(self) -> None:
        self.generation += 1
        self._load(self.generation)

    @work(thread=True, name="mail-load", group="mail", exit_on_error=False)
    def _load(self, generation: int) -> None:
        context = self.context
        data = MailData()
        with context.db.read_session() as session:
            service = InboundService(session, context.clock)
            data.held = [_inbound_row(r) for r in service.held(limit=ROWS)]
            data.refused = [_inbound_row(r) for r in service.refused(limit=ROWS)]
            data.failed = [_job_row(j) for j in OutboxService(session, context.clock).failed_jobs(limit=ROWS)]
        self.post_message(MailLoaded(generation, data))

    @on(MailLoaded)
    def _loaded(self, message: MailLoaded) -> None:
        message.stop()
        if message.generation != self.generation:
            return
        self.data = message.data
        self.refresh_bindings()
        now = self.context.clock.now()
        for table_id, rows in (("held", self.data.held), ("refused", self.data.refused),
                               ("failed", self.data.failed)):
            table = self.query_one(f"#{table_id}", DataTable)
            cursor = table.cursor_row
            table.clear()
            for row in rows:
                table.add_row(short_time(row.when, now) if row.when else "", literal(row.address, one_line=True),
                              literal(plain(row.reason, 200), one_line=True), literal(row.subject, one_line=True),
                              key=str(row.id))
            if table.row_count:
                table.move_cursor(row=min(cursor, table.row_count - 1))

    @on(LiveChanged)
    def _live_changed(self, message: LiveChanged) -> None:
        if any(kind.startswith(("inbound.", "notification.")) for kind in message.change.kinds):
            self.reload()

    def _selected(self, table_id: str) -> MailRow | None:
        table = self.query_one(f"#{table_id}", DataTable)
        if self.data is None or table.row_count == 0:
            return None
        key, _column = table.coordinate_to_cell_key(table.cursor_coordinate)
        rows = {"held": self.data.held, "refused": self.data.refused, "failed": self.data.failed}[table_id]
        return next((r for r in rows if str(r.id) == key.value), None)

    def _focused_table(self) -> str:
        focused = self.focused
        return focused.id if isinstance(focused, DataTable) and focused.id else "held"

    @on(ChangeDone)
    def _change_done(self, message: ChangeDone) -> None:
        show_change_done(self, message)
        self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Email actions when there is a held or refused email, retry when a notification failed."""
        if self.data is None:
            return True
        if action in ("accept", "post_into", "post_new", "reject"):
            return bool(self.data.held or self.data.refused)
        if action == "retry":
            return bool(self.data.failed)
        return True

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()

    def _selected_email(self) -> MailRow | None:
        """The held or refused email under the cursor of the focused table (the held one when neither has focus)."""
        table_id = self._focused_table()
        row = self._selected(table_id if table_id in ("held", "refused") else "held")
        if row is None:
            self.notify(_("There is no held or refused email to act on; select one first."), severity="warning")
        return row

    def _post(self, row: MailRow, *, conversation_id: int | None = None, new_conversation: bool = False) -> None:
        clock, agent_id, record_id = self.context.clock, self.context.agent.id, row.id
        max_bytes = self.context.config.attachments.max_bytes  # the email's files are stored under the same limit
        self._change(lambda s: InboundService(s, clock, max_attachment_bytes=max_bytes).post_by_agent(
            record_id, agent_id, conversation_id=conversation_id, new_conversation=new_conversation),
            HeldEmailAccepted(record_id))

    def action_accept(self) -> None:
        """One key: into the conversation the email matched, else a new one from its sender."""
        row = self._selected_email()
        if row is not None:
            self._post(row)

    def action_post_new(self) -> None:
        row = self._selected_email()
        if row is not None:
            self._post(row, new_conversation=True)

    def action_post_into(self) -> None:
        row = self._selected_email()
        if row is None:
            return

        def picked(conversation_id: int | None) -> None:
            if conversation_id is not None:
                self._post(row, conversation_id=conversation_id)

        self.app.push_screen(ConversationPicker(self.context, row.sender), picked)

    def action_reject(self) -> None:
        row = self._selected_email()
        if row is None:
            return
        clock, agent_id, record_id = self.context.clock, self.context.agent.id, row.id

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._change(lambda s: InboundService(s, clock).discard(record_id, agent_id),
                             InboundEmailDiscarded(record_id))

        self.app.push_screen(ConfirmScreen(_("Discard the email from {sender}? It is not posted to any "
                                             "conversation; it stays recorded with its source.").format(
            sender=row.address)), confirmed)

    def action_retry(self) -> None:
        row = self._selected("failed")
        if row is None:
            self.notify(_("There is no failed notification to retry."), severity="warning")
            return
        clock, job_id = self.context.clock, row.id
        self._change(lambda s: OutboxService(s, clock).retry(job_id), NotificationRetried(job_id))

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_show_source()

    def action_show_source(self) -> None:
        table_id = self._focused_table()
        row = self._selected(table_id)
        if row is not None:
            self.app.push_screen(TextScreen(_("Source"), row.source or _("(no source kept)")))

    def action_cursor_down(self) -> None:
        self.query_one(f"#{self._focused_table()}", DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(f"#{self._focused_table()}", DataTable).action_cursor_up()

    def action_back(self) -> None:
        self.app.pop_screen()

"""A modal that lets an agent pick the conversation an email goes into, searched by end user or text."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static

from core.labels import end_user_label
from core.listing import QueueFilter, QueueListing, QueueRow
from tui.console_context import ConsoleContext
from tui.formatting import status_label
from tui.i18n import N_, _
from tui.screens.workers import ReportsWorkerFailures
from tui.text import literal

ROWS_PER_FILTER = 20
# Open conversations first, then the ones waiting on the end user, then solved ones an email may reopen.
FILTERS = (QueueFilter.all, QueueFilter.pending, QueueFilter.solved)


@dataclass(frozen=True)
class Candidates:
    search: str
    rows: list[QueueRow]


class CandidatesLoaded(Message):
    def __init__(self, generation: int, candidates: Candidates) -> None:
        super().__init__()
        self.generation = generation
        self.candidates = candidates


class ConversationPicker(ReportsWorkerFailures, ModalScreen[int | None]):
    """Dismisses with the picked conversation's id, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", N_("Cancel"), id="pick.cancel")]

    def __init__(self, context: ConsoleContext, search: str = "") -> None:
        super().__init__()
        self.context = context
        self.search = search
        self.candidates: Candidates | None = None
        self.generation = 0

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static(_("Post the email into which conversation? Search by name, address or text; Enter picks."),
                         markup=False, classes="question")
            yield Input(value=self.search, placeholder=_("Search"), id="pick-search")
            yield DataTable(id="pick-table", cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column(_("End user"), key="end_user", width=40)
        table.add_column(_("Status"), key="status", width=12)
        table.add_column(_("Assignee"), key="assignee", width=20)
        self.query_one(Input).focus()
        self._reload()

    @on(Input.Changed)
    def _search_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.search = event.value
        self._reload()

    @on(Input.Submitted)
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one(DataTable).focus()

    def _reload(self) -> None:
        self.generation += 1
        self._load(self.generation, self.search)

    @work(thread=True, group="pick-conversation", exit_on_error=False)
    def _load(self, generation: int, search: str) -> None:
        context = self.context
        rows: list[QueueRow] = []
        with context.db.read_session() as session:
            listing = QueueListing(session, context.clock)
            for queue_filter in FILTERS:
                rows += listing.page(queue_filter, search=search, limit=ROWS_PER_FILTER).rows
        self.post_message(CandidatesLoaded(generation, Candidates(search, rows)))

    @on(CandidatesLoaded)
    def _loaded(self, message: CandidatesLoaded) -> None:
        message.stop()
        if message.generation != self.generation:
            return
        self.candidates = message.candidates
        table = self.query_one(DataTable)
        table.clear()
        for row in self.candidates.rows:
            who = end_user_label(row.end_user, _)
            if row.end_user_name and row.end_user_email:
                who = f"{who} <{row.end_user_email}>"
            table.add_row(literal(who, one_line=True), status_label(row.status),
                          literal(row.assignee_name or "", one_line=True), key=str(row.conversation_id))

    @on(DataTable.RowSelected)
    def _picked(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.dismiss(int(event.row_key.value))

    def action_cancel(self) -> None:
        self.dismiss(None)

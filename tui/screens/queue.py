"""The queue: one page of conversations for a filter or search, oldest wait first, updated live."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Static, Tab, Tabs

from core.conversations import ConversationService
from core.labels import end_user_label
from core.listing import PAGE_SIZE, QueueFilter, QueueListing, QueuePage, QueueRow
from tui.console_context import ConsoleContext
from tui.formatting import channel_label, status_label, wait_label
from tui.i18n import N_, _
from tui.messages import ChangeDone, ConversationPicked, LiveChanged, NextConversationTaken, NothingWaiting
from tui.screens.prompt import ConfirmScreen
from tui.screens.workers import ReportsWorkerFailures, show_change_done
from tui.text import literal
from tui.widgets.key_bar import KeyBar

FILTER_LABELS = {
    QueueFilter.all: N_("All waiting"),
    QueueFilter.mine: N_("Mine"),
    QueueFilter.unassigned: N_("Unassigned"),
    QueueFilter.pending: N_("Pending"),
    QueueFilter.solved: N_("Solved"),
}
WAIT_REFRESH_SECONDS = 15.0
COLUMNS = ("end_user", "channel", "language", "wait", "unread", "assignee", "status")
# Below this many columns the channel column is left out, so the others fit an 80-column terminal.
WIDE_TERMINAL = 100


class QueuePageLoaded(Message):
    """A page of the queue was read; generation tells a stale result from the latest."""

    def __init__(self, generation: int, page: QueuePage) -> None:
        super().__init__()
        self.generation = generation
        self.page = page


class QueueScreen(ReportsWorkerFailures, Screen):
    """Conversations waiting for an agent; Enter opens one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_selected", N_("Open"), id="queue.open"),
        Binding("j", "cursor_down", N_("Down"), show=False, id="queue.down"),
        Binding("k", "cursor_up", N_("Up"), show=False, id="queue.up"),
        Binding("n", "take_next", N_("Take next"), id="queue.take_next"),
        Binding("slash", "search", N_("Search"), key_display="/", id="queue.search"),
        Binding("f", "next_filter", N_("Filter"), id="queue.filter"),
        Binding("right_square_bracket", "next_page", N_("Next page"), key_display="]", id="queue.next_page"),
        Binding("left_square_bracket", "previous_page", N_("Previous page"), key_display="[", show=False,
                id="queue.previous_page"),
        Binding("escape", "clear_search", N_("Clear search"), show=False, id="queue.clear_search"),
        Binding("q", "quit", N_("Quit"), id="queue.quit"),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__()
        self.context = context
        self.queue_filter = QueueFilter.all
        self.search_text = ""
        self.page_offset = 0
        self.generation = 0
        self.page: QueuePage | None = None
        self.busy = False
        self.reload_wanted = False
        self.stale = False
        self.columns: tuple[str, ...] = COLUMNS

    def compose(self) -> ComposeResult:
        yield Header()
        yield Tabs(*[Tab(_(label), id=f"filter-{f.value}") for f, label in FILTER_LABELS.items()], id="filters")
        yield Input(placeholder=_("Search by end user, text or #tag; Enter searches, Escape clears"), id="search",
                    classes="hidden")
        table: DataTable = DataTable(id="queue", cursor_type="row", zebra_stripes=True)
        yield table
        with Horizontal(id="queue-status-bar"):
            yield Static("", id="queue-status", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one("#queue", DataTable)
        wide = self.app.size.width >= WIDE_TERMINAL
        self.columns = COLUMNS if wide else tuple(c for c in COLUMNS if c != "channel")
        widths = {"end_user": 30 if wide else 20, "channel": 15, "language": 6, "wait": 9, "unread": None,
                  "assignee": 18 if wide else 12, "status": 10}
        labels = {"end_user": _("End user"), "channel": _("Channel"), "language": _("Lang"), "wait": _("Waiting"),
                  "unread": _("Unread"), "assignee": _("Assignee"), "status": _("Status")}
        for column in self.columns:  # unread: as wide as its heading, in any language
            table.add_column(labels[column], key=column, width=widths[column])
        table.focus()
        self.set_interval(WAIT_REFRESH_SECONDS, self.refresh_wait_times)
        self.reload()

    # --- loading ----------------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the current page again in a worker; a reload asked for while one runs follows it."""
        if self.busy:
            self.reload_wanted = True
            return
        self.busy = True
        self.generation += 1
        self._load(self.generation, self.queue_filter, self.search_text, self.page_offset)

    @work(thread=True, name="queue-load", group="queue", exit_on_error=False)
    def _load(self, generation: int, queue_filter: QueueFilter, search: str, offset: int) -> None:
        context = self.context
        with context.db.read_session() as session:
            page = QueueListing(session, context.clock).page(
                queue_filter, agent_id=context.agent.id, search=search, offset=offset, limit=PAGE_SIZE)
        self.post_message(QueuePageLoaded(generation, page))

    def work_failed(self, worker_name: str, error: BaseException) -> None:
        if worker_name == "queue-load":
            self.busy = False
            self.reload_wanted = False

    @on(QueuePageLoaded)
    def _loaded(self, message: QueuePageLoaded) -> None:
        message.stop()
        self.busy = False
        if message.generation == self.generation:
            previous, self.page = self.page, message.page
            self._fill(message.page, previous)
            self.refresh_bindings()
        if self.reload_wanted:
            self.reload_wanted = False
            self.reload()

    def _fill(self, page: QueuePage, previous: QueuePage | None) -> None:
        table = self.query_one("#queue", DataTable)
        now = self.context.clock.now()
        same_rows = previous is not None and table.row_count == len(previous.rows) and \
            [r.conversation_id for r in previous.rows] == [r.conversation_id for r in page.rows]
        if same_rows:
            # The usual live change touches a cell or two: update those, keep the table (and its cursor) as it is.
            for old, new in zip(previous.rows if previous else [], page.rows, strict=True):
                if old != new:
                    for column, value in self._cells(new, now).items():
                        table.update_cell(str(new.conversation_id), column, value)
            self._show_status(page)
            return
        selected = self.selected_id()
        table.clear()
        for row in page.rows:
            table.add_row(*self._cells(row, now).values(), key=str(row.conversation_id))
        if selected is not None and str(selected) in table.rows:
            table.move_cursor(row=table.get_row_index(str(selected)))
        self._show_status(page)

    def _cells(self, row: QueueRow, now: datetime) -> dict[str, Text | str]:
        """The cells of the columns shown, by column key, in their order."""
        who = end_user_label(row.end_user, _)
        assignee = row.assignee_name or "–"
        if row.assignee_id == self.context.agent.id:
            assignee = _("me")
        cells: dict[str, Text | str] = {
            "end_user": literal(who, one_line=True),
            "channel": channel_label(row.last_message_channel),
            "language": row.language or "–",
            "wait": wait_label(row.waiting_since, now),
            "unread": Text(str(row.unread_for_agents), style="bold" if row.unread_for_agents else "dim").append(
                " " + _("no email") if row.unemailable_replies else "", style="yellow"),
            "assignee": literal(assignee, one_line=True),
            "status": status_label(row.status),
        }
        return {column: cells[column] for column in self.columns}

    def _show_status(self, page: QueuePage) -> None:
        if not page.rows:
            text = _("No conversations here.")
        else:
            text = _("Rows {first}–{last}").format(first=page.offset + 1, last=page.offset + len(page.rows))
            if page.has_more:
                text += " · " + _("more on the next page (])")
        if self.search_text:
            text += " · " + _("search: {text}").format(text=self.search_text)
        self.query_one("#queue-status", Static).update(text)

    def refresh_wait_times(self) -> None:
        """Move the wait times on without asking the database."""
        if self.page is None:
            return
        table = self.query_one("#queue", DataTable)
        now = self.context.clock.now()
        for row in self.page.rows:
            key = str(row.conversation_id)
            if key in table.rows:
                table.update_cell(key, "wait", wait_label(row.waiting_since, now))

    @on(LiveChanged)
    def _live_changed(self, message: LiveChanged) -> None:
        # A queue under another screen reloads when it is shown again, not while the agent works elsewhere.
        if self.is_current:
            self.reload()
        else:
            self.stale = True

    def on_screen_resume(self) -> None:
        if self.stale:
            self.stale = False
            self.reload()

    # --- selection and actions ------------------------------------------------------------------------
    def selected_id(self) -> int | None:
        table = self.query_one("#queue", DataTable)
        if table.row_count == 0:
            return None
        key, _column = table.coordinate_to_cell_key(table.cursor_coordinate)
        return int(key.value) if key.value is not None else None

    @on(DataTable.RowSelected, "#queue")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(ConversationPicked(int(event.row_key.value)))

    def action_open_selected(self) -> None:
        conversation_id = self.selected_id()
        if conversation_id is not None:
            self.post_message(ConversationPicked(conversation_id))

    def action_cursor_down(self) -> None:
        self.query_one("#queue", DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one("#queue", DataTable).action_cursor_up()

    def action_take_next(self) -> None:
        self._take_next()

    @work(thread=True, name="queue-take-next", group="queue-action", exit_on_error=False)
    def _take_next(self) -> None:
        """Assign the oldest waiting unassigned conversation to me and open it."""
        context = self.context
        with context.db.session() as session:
            taken = ConversationService(session, context.clock).take_next(context.agent.id)
            conversation_id = taken.id if taken is not None else None
        if conversation_id is None:
            self.post_message(NothingWaiting())
            return
        self.post_message(NextConversationTaken(conversation_id))

    @on(ChangeDone)
    def _change_done(self, message: ChangeDone) -> None:
        show_change_done(self, message)

    @on(NextConversationTaken)
    def _taken(self, message: NextConversationTaken) -> None:
        self.post_message(ConversationPicked(message.conversation_id))

    # --- which keys apply -------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next_page":
            return self.page is not None and self.page.has_more
        if action == "previous_page":
            return self.page_offset > 0
        if action == "clear_search":
            search = self.query("#search")
            return bool(self.search_text) or bool(search and not search.first().has_class("hidden"))
        return True

    def action_quit(self) -> None:
        """Ask first: quitting ends the agent's session (and the demo, whose data then goes)."""
        question = (_("Quit the demo? Its conversations, mailboxes and settings will be removed.")
                    if self.context.demo else _("Quit Threadline?"))

        def answered(yes: bool | None) -> None:
            if yes:
                self.app.exit()

        self.app.push_screen(ConfirmScreen(question), answered)

    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        search.remove_class("hidden")
        search.focus()
        self.refresh_bindings()

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.search_text = event.value.strip()
        self.page_offset = 0
        if not self.search_text:
            event.input.add_class("hidden")
        self.query_one("#queue", DataTable).focus()
        self.refresh_bindings()
        self.reload()

    def action_clear_search(self) -> None:
        search = self.query_one("#search", Input)
        search.value = ""
        search.add_class("hidden")
        self.query_one("#queue", DataTable).focus()
        self.refresh_bindings()
        if self.search_text:
            self.search_text = ""
            self.page_offset = 0
            self.reload()

    def set_filter(self, queue_filter: QueueFilter) -> None:
        self.query_one("#filters", Tabs).active = f"filter-{queue_filter.value}"

    @on(Tabs.TabActivated, "#filters")
    def _filter_changed(self, event: Tabs.TabActivated) -> None:
        event.stop()
        chosen = QueueFilter((event.tab.id or "").removeprefix("filter-"))
        if chosen != self.queue_filter:
            self.queue_filter = chosen
            self.page_offset = 0
            self.reload()
            self.query_one("#queue", DataTable).focus()

    def action_next_filter(self) -> None:
        filters = list(FILTER_LABELS)
        self.set_filter(filters[(filters.index(self.queue_filter) + 1) % len(filters)])

    def action_next_page(self) -> None:
        if self.page is not None and self.page.has_more:
            self.page_offset += PAGE_SIZE
            self.reload()

    def action_previous_page(self) -> None:
        if self.page_offset > 0:
            self.page_offset = max(0, self.page_offset - PAGE_SIZE)
            self.reload()

    def palette_extras(self) -> list[tuple[str, str, Callable[[], object]]]:
        return [(_("Filter: {name}").format(name=_(label)), "", partial(self.set_filter, f))
                for f, label in FILTER_LABELS.items()]

"""The queue: one page of conversations for a filter or search, oldest wait first, updated live."""
from __future__ import annotations

from datetime import datetime
from functools import partial

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Static, Tab, Tabs

from core.conversations import ConversationService
from core.errors import ThreadlineError
from core.labels import end_user_label
from core.listing import PAGE_SIZE, QueueFilter, QueueListing, QueuePage, QueueRow
from tui.formatting import channel_label, status_label, wait_label
from tui.i18n import N_, _, translate_bindings
from tui.messages import ActionDone, LiveChange, Loaded
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


class QueueScreen(Screen):
    """Conversations waiting for an agent; Enter opens one."""

    BINDINGS = [
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
        Binding("q", "app.quit", N_("Quit"), id="queue.quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)
        self.queue_filter = QueueFilter.all
        self.search_text = ""
        self.page_offset = 0
        self.generation = 0
        self.page: QueuePage | None = None
        self.busy = False
        self.reload_wanted = False
        self.stale = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Tabs(*[Tab(_(label), id=f"filter-{f.value}") for f, label in FILTER_LABELS.items()], id="filters")
        yield Input(placeholder=_("Search by end user or text; Enter searches, Escape clears"), id="search",
                    classes="hidden")
        table: DataTable = DataTable(id="queue", cursor_type="row", zebra_stripes=True)
        yield table
        with Horizontal(id="queue-status-bar"):
            yield Static("", id="queue-status", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one("#queue", DataTable)
        table.add_column(_("End user"), key="end_user", width=30)
        table.add_column(_("Channel"), key="channel", width=15)
        table.add_column(_("Lang"), key="language", width=6)
        table.add_column(_("Waiting"), key="wait", width=9)
        table.add_column(_("Unread"), key="unread", width=6)
        table.add_column(_("Assignee"), key="assignee", width=18)
        table.add_column(_("Status"), key="status", width=10)
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

    @work(thread=True, group="queue", exit_on_error=False)
    def _load(self, generation: int, queue_filter: QueueFilter, search: str, offset: int) -> None:
        context = self.app.context
        try:
            with context.db.read_session() as session:
                page = QueueListing(session, context.clock).page(
                    queue_filter, agent_id=context.agent.id, search=search, offset=offset, limit=PAGE_SIZE)
        except Exception as exc:  # shown to the agent; the worker must not die silently
            self.post_message(ActionDone("queue.load", str(exc), error=True))
            page = None
        self.post_message(Loaded("queue", generation, page))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        if message.kind != "queue":
            return
        message.stop()
        self.busy = False
        if message.data is not None and message.generation == self.generation:
            previous, self.page = self.page, message.data
            self._fill(message.data, previous)
        if self.reload_wanted:
            self.reload_wanted = False
            self.reload()

    def _fill(self, page: QueuePage, previous: QueuePage | None) -> None:
        table = self.query_one("#queue", DataTable)
        now = self.app.context.clock.now()
        same_rows = previous is not None and table.row_count == len(previous.rows) and \
            [r.conversation_id for r in previous.rows] == [r.conversation_id for r in page.rows]
        if same_rows:
            # The usual live change touches a cell or two: update those, keep the table (and its cursor) as it is.
            for old, new in zip(previous.rows, page.rows):
                if old != new:
                    for column, value in zip(COLUMNS, self._cells(new, now)):
                        table.update_cell(str(new.conversation_id), column, value)
            self._show_status(page)
            return
        selected = self.selected_id()
        table.clear()
        for row in page.rows:
            table.add_row(*self._cells(row, now), key=str(row.conversation_id))
        if selected is not None and str(selected) in table.rows:
            table.move_cursor(row=table.get_row_index(str(selected)))
        self._show_status(page)

    def _cells(self, row: QueueRow, now: datetime) -> tuple:
        who = end_user_label(row.end_user, _)
        assignee = row.assignee_name or "–"
        if row.assignee_id == self.app.agent.id:
            assignee = _("me")
        return (
            literal(who, one_line=True),
            channel_label(row.last_message_channel),
            row.language or "–",
            wait_label(row.waiting_since, now),
            Text(str(row.unread_for_agents), style="bold" if row.unread_for_agents else "dim").append(
                " " + _("no email") if row.unemailable_replies else "", style="yellow"),
            literal(assignee, one_line=True),
            status_label(row.status),
        )

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
        now = self.app.context.clock.now()
        for row in self.page.rows:
            key = str(row.conversation_id)
            if key in table.rows:
                table.update_cell(key, "wait", wait_label(row.waiting_since, now))

    def live_changed(self, change: LiveChange) -> None:
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
        self.app.open_conversation(int(event.row_key.value))

    def action_open_selected(self) -> None:
        conversation_id = self.selected_id()
        if conversation_id is not None:
            self.app.open_conversation(conversation_id)

    def action_cursor_down(self) -> None:
        self.query_one("#queue", DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one("#queue", DataTable).action_cursor_up()

    def action_take_next(self) -> None:
        self._take_next()

    @work(thread=True, group="queue-action", exit_on_error=False)
    def _take_next(self) -> None:
        """Assign the oldest waiting unassigned conversation to me and open it."""
        context = self.app.context
        try:
            with context.db.session() as session:
                taken = ConversationService(session, context.clock).take_next(context.agent.id)
            if taken is None:
                self.post_message(ActionDone("queue.take_next", _("No conversation is waiting.")))
                return
            conversation_id = taken.id
        except ThreadlineError as exc:
            self.post_message(ActionDone("queue.take_next", exc.message, error=True))
            return
        self.post_message(ActionDone("queue.take_next", "", data=conversation_id))

    @on(ActionDone)
    def _action_done(self, message: ActionDone) -> None:
        message.stop()
        if message.message:
            self.notify(message.message, severity="error" if message.error else "information", markup=False)
        if message.kind == "queue.take_next" and message.data is not None:
            self.app.open_conversation(message.data)

    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        search.remove_class("hidden")
        search.focus()

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.search_text = event.value.strip()
        self.page_offset = 0
        if not self.search_text:
            event.input.add_class("hidden")
        self.query_one("#queue", DataTable).focus()
        self.reload()

    def action_clear_search(self) -> None:
        search = self.query_one("#search", Input)
        search.value = ""
        search.add_class("hidden")
        self.query_one("#queue", DataTable).focus()
        if self.search_text:
            self.search_text = ""
            self.page_offset = 0
            self.reload()

    def set_filter(self, queue_filter: QueueFilter) -> None:
        self.query_one("#filters", Tabs).active = f"filter-{queue_filter.value}"

    @on(Tabs.TabActivated, "#filters")
    def _filter_changed(self, event: Tabs.TabActivated) -> None:
        event.stop()
        chosen = QueueFilter(event.tab.id.removeprefix("filter-"))
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

    def palette_extras(self) -> list:
        return [(_("Filter: {name}").format(name=_(label)), "", partial(self.set_filter, f))
                for f, label in FILTER_LABELS.items()]

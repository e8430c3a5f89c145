"""Admins' list of canned replies (from Settings: Ctrl+G) and the dialog that adds or edits one."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Header, Input, Label, Select, Static, Switch, TextArea

from core.errors import ThreadlineError
from core.i18n import available_languages
from core.macros import VARIABLES, MacroDraft, MacroService
from core.models import ConversationStatus
from core.settings import SettingsService
from tui.console_context import ConsoleContext
from tui.formatting import language_choices, status_label
from tui.i18n import N_, _, error_text
from tui.messages import ChangeDone, LiveChanged, MacroDeleted, MacroSaved
from tui.screens.macros import macro_actions
from tui.screens.prompt import ConfirmScreen
from tui.screens.workers import ChangesInWorkers, show_change_done
from tui.text import literal, plain
from tui.widgets.key_bar import KeyBar


@dataclass(frozen=True)
class MacroRow:
    """One canned reply as the admin edits it (plain values, read in a worker)."""

    id: int
    name: str
    texts: dict[str, str]
    set_status: str | None
    assign_to_me: bool
    add_tags: tuple[str, ...]
    actions: str


class MacroRowsRead(Message):
    def __init__(self, rows: list[MacroRow], default_language: str) -> None:
        super().__init__()
        self.rows = rows
        self.default_language = default_language


class MacroEditor(ModalScreen[MacroDraft | None]):
    """Name, a text per language (pick the language, write its text), and what sending also does.

    The draft is checked here (core.macros.MacroService.checked, no database) so a mistake keeps the dialog open."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", N_("Save canned reply"), id="macro_editor.save"),
        Binding("escape", "cancel", N_("Cancel"), id="macro_editor.cancel"),
    ]

    def __init__(self, row: MacroRow | None, default_language: str) -> None:
        super().__init__()
        self.row = row
        self.texts: dict[str, str] = dict(row.texts) if row else {}
        languages = list(available_languages())
        languages += [tag for tag in self.texts if tag not in languages]
        self.choices = language_choices(languages)
        first = next(iter(self.texts), None) if row else None
        self.language = first or (default_language if default_language in languages else languages[0])

    def compose(self) -> ComposeResult:
        row = self.row
        with Vertical(classes="dialog wide macro-editor"):
            yield Static(_("Canned reply (Ctrl+S saves). Variables: {names}").format(
                names=", ".join("{{ " + name + " }}" for name in VARIABLES)), markup=False, classes="question")
            with VerticalScroll():
                with Horizontal(classes="form-row"):
                    yield Label(_("Name"))
                    yield Input(value=row.name if row else "", id="macro-name")
                with Horizontal(classes="form-row select-row"):
                    yield Label(_("Language"))
                    yield Select(self.choices, value=self.language, allow_blank=False, id="macro-language")
                yield TextArea(self.texts.get(self.language, ""), id="macro-text", soft_wrap=True)
                with Horizontal(classes="form-row select-row"):
                    yield Label(_("Then set status"))
                    yield Select([(status_label(s), s.value) for s in ConversationStatus],
                                 value=row.set_status if row and row.set_status else Select.NULL,
                                 prompt=_("(unchanged)"), id="macro-status")
                with Horizontal(classes="form-row"):
                    yield Label(_("Assign to me"))
                    yield Switch(value=bool(row and row.assign_to_me), id="macro-assign")
                with Horizontal(classes="form-row"):
                    yield Label(_("Add tags"))
                    yield Input(value=" ".join(row.add_tags) if row else "", placeholder="refund billing",
                                id="macro-tags")
                yield Static("", id="macro-error", classes="error", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(_("Save canned reply"), variant="primary", id="save")
                yield Button(_("Cancel"), id="cancel")

    def on_mount(self) -> None:
        self.query_one("#macro-name", Input).focus()

    def _keep_text(self) -> None:
        text = self.query_one("#macro-text", TextArea).text
        if text.strip():
            self.texts[self.language] = text
        else:
            self.texts.pop(self.language, None)

    @on(Select.Changed, "#macro-language")
    def _language_changed(self, event: Select.Changed) -> None:
        event.stop()
        if not isinstance(event.value, str) or event.value == self.language:
            return
        self._keep_text()
        self.language = event.value
        self.query_one("#macro-text", TextArea).text = self.texts.get(self.language, "")

    def draft(self) -> MacroDraft:
        self._keep_text()
        status = self.query_one("#macro-status", Select).value
        return MacroDraft(
            name=self.query_one("#macro-name", Input).value, texts=dict(self.texts),
            set_status=status if isinstance(status, str) else None,
            assign_to_me=self.query_one("#macro-assign", Switch).value,
            add_tags=tuple(self.query_one("#macro-tags", Input).value.replace(",", " ").split()))

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        try:
            draft = MacroService.checked(self.draft())
        except ThreadlineError as error:
            self.query_one("#macro-error", Static).update(error_text(error))
            return
        self.dismiss(draft)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class MacrosScreen(ChangesInWorkers, Screen):
    """The canned replies of the account: add (a), edit (Enter), delete (d)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "back", N_("Back"), id="macros.back"),
        Binding("a", "add", N_("Add canned reply"), id="macros.add"),
        Binding("enter", "edit", N_("Edit"), id="macros.edit"),
        Binding("d", "delete", N_("Delete"), id="macros.delete"),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__()
        self.context = context
        self.rows: list[MacroRow] | None = None
        self.default_language = "en"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(_("Canned replies: agents insert them with Ctrl+K in the reply box."), classes="section-title",
                     markup=False)
        yield DataTable(id="macros", cursor_type="row", zebra_stripes=True)
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one("#macros", DataTable)
        table.add_column(_("Name"), key="name", width=28)
        table.add_column(_("Languages"), key="languages", width=14)
        table.add_column(_("Then"), key="actions", width=24)
        table.add_column(_("Text"), key="text")
        table.focus()
        self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("edit", "delete"):
            return self.rows is None or bool(self.rows)
        return True

    def reload(self) -> None:
        self._load()

    @work(thread=True, name="macros-load", group="macros", exclusive=True, exit_on_error=False)
    def _load(self) -> None:
        context = self.context
        with context.db.read_session() as session:
            rows = [MacroRow(m.id, m.name, {k: str(v) for k, v in m.texts.items()}, m.set_status, m.assign_to_me,
                             tuple(str(t) for t in m.add_tags), macro_actions(m))
                    for m in MacroService(session, context.clock).all() if m.id is not None]
            default = SettingsService(session, context.clock).load().default_language
        self.post_message(MacroRowsRead(rows, default))

    @on(MacroRowsRead)
    def _read(self, message: MacroRowsRead) -> None:
        message.stop()
        self.rows = message.rows
        self.default_language = message.default_language
        table = self.query_one("#macros", DataTable)
        selected = table.cursor_row
        table.clear()
        for row in message.rows:
            first = next(iter(row.texts.values()), "")
            table.add_row(literal(row.name, one_line=True), ", ".join(sorted(row.texts)),
                          literal(row.actions or "–", one_line=True), plain(first, 200), key=str(row.id))
        if table.row_count:
            table.move_cursor(row=min(max(selected, 0), table.row_count - 1))
        self.refresh_bindings()

    def _selected(self) -> MacroRow | None:
        table = self.query_one("#macros", DataTable)
        if not self.rows or table.row_count == 0:
            return None
        return self.rows[table.cursor_row] if 0 <= table.cursor_row < len(self.rows) else None

    def _edit(self, row: MacroRow | None) -> None:
        clock = self.context.clock
        macro_id = row.id if row else None

        def done(draft: MacroDraft | None) -> None:
            if draft is not None:
                self._change(lambda s: MacroService(s, clock).save(draft, macro_id), MacroSaved())

        self.app.push_screen(MacroEditor(row, self.default_language), done)

    def action_add(self) -> None:
        self._edit(None)

    def action_edit(self) -> None:
        row = self._selected()
        if row is not None:
            self._edit(row)

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()  # the table takes Enter itself
        self.action_edit()

    def action_delete(self) -> None:
        row = self._selected()
        if row is None:
            return
        clock = self.context.clock

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._change(lambda s: MacroService(s, clock).delete(row.id), MacroDeleted())

        self.app.push_screen(ConfirmScreen(_("Delete the canned reply {name}?").format(name=row.name)), confirmed)

    def action_back(self) -> None:
        self.app.pop_screen()

    @on(ChangeDone)
    def _change_done(self, message: ChangeDone) -> None:
        show_change_done(self, message)
        self.reload()

    @on(LiveChanged)
    def _live(self, message: LiveChanged) -> None:
        if message.change.global_change:  # another admin's change (macro events name no conversation)
            self.reload()

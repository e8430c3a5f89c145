"""The dialog in which an agent writes an internal note (several lines; only agents ever see it)."""
from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static, TextArea

from tui.i18n import N_, _


class NoteScreen(ModalScreen[str | None]):
    """Asks for a note's text; dismisses with it (Ctrl+S or Save), or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", N_("Save note"), id="note.save"),
        Binding("escape", "cancel", N_("Cancel"), id="note.cancel"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(_("Internal note: only agents see it; the end user never does (Ctrl+S saves)."),
                         markup=False, classes="question")
            yield TextArea(id="note-text", soft_wrap=True, show_line_numbers=False)
            with Horizontal(classes="buttons"):
                yield Button(_("Save note"), variant="primary", id="save")
                yield Button(_("Cancel"), id="cancel")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        text = self.query_one(TextArea).text
        if not text.strip():
            self.notify(_("The note is empty; write some text first."), severity="warning")
            return
        self.dismiss(text)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

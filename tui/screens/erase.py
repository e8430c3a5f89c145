"""The erasure dialog: it names the end user, says erasure cannot be undone, and asks for their name typed out."""
from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from tui.i18n import N_, _
from tui.text import strip_controls


def typed_matches(typed: str, label: str) -> bool:
    """Whether typed names the end user: their label, with case and runs of spaces not counting."""
    def normal(text: str) -> str:
        return " ".join(text.split()).casefold()

    return bool(normal(label)) and normal(typed) == normal(label)


class EraseScreen(ModalScreen[bool]):
    """Erasing cannot be undone, so a key press is not enough: the Erase button works once the end user's name (as
    the header shows it) is typed, which also makes sure it is the person meant. Dismisses True to erase."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", N_("Cancel"), id="erase.cancel")]

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = strip_controls(label, keep_newlines=False)

    def compose(self) -> ComposeResult:
        question = Text(_("Erase everything held about {name}? Their messages are replaced by a marker; their name, "
                          "email addresses, inbound emails and files are deleted. This cannot be undone: if they "
                          "asked for a copy, cancel and export their data first (E).").format(name=self.label))
        with Vertical(classes="dialog", id="erase-dialog"):
            yield Static(question, classes="question")  # a Text: the name is never read as markup
            yield Static(Text(_("Type {name} to confirm:").format(name=self.label), style="bold"),
                         classes="question")
            yield Input(id="erase-confirm")
            with Horizontal(classes="buttons"):
                yield Button(_("Erase for good"), variant="error", id="erase", disabled=True)
                yield Button(_("Cancel"), id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Changed, "#erase-confirm")
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#erase", Button).disabled = not typed_matches(event.value, self.label)

    @on(Input.Submitted, "#erase-confirm")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if typed_matches(event.value, self.label):
            self.dismiss(True)
        else:
            self.notify(_("Type the end user's name exactly as shown to erase, or press Escape to cancel."),
                        severity="warning")

    @on(Button.Pressed, "#erase")
    def _erase(self) -> None:
        if typed_matches(self.query_one(Input).value, self.label):
            self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)

"""Small modal screens: a one-line question, a confirmation, a read-only text view and a language picker."""
from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from tui.formatting import language_label
from tui.i18n import N_, _
from tui.text import literal


class PromptScreen(ModalScreen[str | None]):
    """Asks for one line of text; dismisses with it, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", N_("Cancel"), id="prompt.cancel")]

    def __init__(self, title: str, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, markup=False, classes="question")
            yield Input(value=self.value, placeholder=self.placeholder, id="prompt-input")
            with Horizontal(classes="buttons"):
                yield Button(_("OK"), variant="primary", id="ok")
                yield Button(_("Cancel"), id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        self.dismiss(self.query_one(Input).value)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """Asks yes or no."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "no", N_("Cancel"), id="confirm.no"),
        Binding("y", "yes", N_("Yes"), id="confirm.yes"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, markup=False, classes="question")
            with Horizontal(classes="buttons"):
                yield Button(_("Yes"), variant="warning", id="yes")
                yield Button(_("No"), id="no")

    @on(Button.Pressed, "#yes")
    def action_yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_no(self) -> None:
        self.dismiss(False)


class TextScreen(ModalScreen[None]):
    """Shows a text (an email's source) literally; Escape closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "close", N_("Close"), id="text.close")]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static(self.title_text, markup=False, classes="question")
            with VerticalScroll():
                yield Static(literal(self.text))

    def action_close(self) -> None:
        self.dismiss(None)


class LanguageScreen(ModalScreen[str | None]):
    """Picks a language by its name in the agent's language; a tag not in the list can be typed (e.g. pt-BR)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", N_("Cancel"), id="language.cancel")]

    def __init__(self, title: str, current: str, choices: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.current = current
        self.choices = choices if current in {code for _label, code in choices} or not current \
            else [(language_label(current), current), *choices]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, markup=False, classes="question")
            yield OptionList(*[Option(label, id=code) for label, code in self.choices], id="language-list")
            yield Input(placeholder=_("or type a language tag (e.g. pt-BR) and press Enter"), id="language-tag")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        codes = [code for _label, code in self.choices]
        if self.current in codes:
            options.highlighted = codes.index(self.current)
        options.focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    @on(Input.Submitted)
    def _typed(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)

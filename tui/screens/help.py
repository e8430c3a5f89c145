"""The help screen: every key of the screen below and of the app that applies there, with what it does."""
from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from tui.commands import applies, declared_bindings
from tui.i18n import N_, _


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "close", N_("Close"), id="help.close")]

    def __init__(self, below: Screen[object]) -> None:
        super().__init__()
        self.below = below

    def compose(self) -> ComposeResult:
        table = Table(title=_("Keys"), expand=True, show_edge=False)
        table.add_column(_("Key"), style="bold", no_wrap=True)
        table.add_column(_("Action"))
        for node in (self.below, self.app):
            for binding in declared_bindings(node):
                if applies(node, binding):
                    table.add_row(Text(self.app.get_key_display(binding)), Text(_(binding.description)))
        table.add_row(Text("ctrl+p"), Text(_("Command palette: every action by name")))
        intro = Text(_("Threadline agent console. Ctrl+P opens the command palette: every action by name. "
                       "Escape goes back; q too, except on the queue, where it quits."))
        with VerticalScroll(classes="dialog wide", id="help"):
            yield Static(intro)
            yield Static(table)

    def action_close(self) -> None:
        self.dismiss(None)

"""The transfer dialog: pick another agent (their status shown) and leave them an optional note."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from tui.i18n import N_, _
from tui.messages import AgentChoice
from tui.text import literal

_STATUS_LABELS = {"online": N_("online"), "away": N_("away"), "offline": N_("offline")}
_STATUS_STYLE = {"online": "green", "away": "yellow", "offline": "dim"}
_STATUS_ORDER = {"online": 0, "away": 1, "offline": 2}


@dataclass(frozen=True)
class TransferChoice:
    agent_id: int
    note: str


class TransferScreen(ModalScreen[TransferChoice | None]):
    """Online agents first; Enter on an agent transfers with the note typed below (empty: no note)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", N_("Cancel"), id="transfer.cancel")]

    def __init__(self, agents: list[AgentChoice]) -> None:
        super().__init__()
        self.agents = sorted(agents, key=lambda a: (_STATUS_ORDER.get(a.status, 3), a.name.casefold()))

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(_("Transfer to which agent? (Enter transfers)"), markup=False, classes="question")
            yield OptionList(*[Option(self._label(agent), id=str(agent.id)) for agent in self.agents],
                             id="transfer-agents")
            yield Input(placeholder=_("Optional note for them (only agents see it)"), id="transfer-note")

    @staticmethod
    def _label(agent: AgentChoice) -> Text:
        label = Text("● ", style=_STATUS_STYLE.get(agent.status, "dim"))
        label.append_text(literal(agent.name, one_line=True))
        label.append(f" ({agent.handle}) · ", style="dim")
        label.append(_(_STATUS_LABELS.get(agent.status, agent.status)), style=_STATUS_STYLE.get(agent.status, "dim"))
        return label

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.dismiss(TransferChoice(int(event.option.id), self.query_one("#transfer-note", Input).value))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            option = options.get_option_at_index(options.highlighted)
            if option.id is not None:
                self.dismiss(TransferChoice(int(option.id), event.value))

    def action_cancel(self) -> None:
        self.dismiss(None)

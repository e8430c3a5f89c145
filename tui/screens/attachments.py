"""Modal screens for attachments: pick one of the conversation's files, and type the path of a file to attach."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from tui.attachment_files import PathSuggester
from tui.i18n import N_, _
from tui.text import literal
from tui.transcript import FileView, file_line


@dataclass(frozen=True)
class FileChoice:
    """The file the agent picked, and whether to preview it in the terminal (v) rather than open it (Enter)."""

    public_id: str
    preview: bool = False


class AttachmentPickScreen(ModalScreen[FileChoice | None]):
    """Lists the conversation's files, newest first; dismisses with the chosen one (to open, or to preview)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("v", "preview", N_("Preview the image in the terminal"), id="attachments.preview"),
        Binding("escape", "cancel", N_("Cancel"), id="attachments.cancel"),
    ]

    def __init__(self, files: list[FileView]) -> None:
        super().__init__()
        self.files = files

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(_("Open which file? Enter opens it (saved to ~/Downloads when there is no display); v "
                           "previews an image in the terminal."), markup=False, classes="question")
            yield OptionList(*[Option(literal(file_line(file), one_line=True), id=file.public_id)
                               for file in self.files], id="attachment-list")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.dismiss(FileChoice(event.option.id))

    def action_preview(self) -> None:
        option_list = self.query_one(OptionList)
        if option_list.highlighted is not None:
            option_id = option_list.get_option_at_index(option_list.highlighted).id
            if option_id:
                self.dismiss(FileChoice(option_id, preview=True))

    def action_cancel(self) -> None:
        self.dismiss(None)


class AttachFileScreen(ModalScreen[str | None]):
    """Asks for the path of a file to attach to the reply; the path completes as it is typed (Right accepts)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", N_("Cancel"), id="attach.cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(_("Attach which file? Type its path; → completes it, Enter sends it."), markup=False,
                         classes="question")
            yield Input(placeholder="~/", suggester=PathSuggester(), id="attach-path")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)

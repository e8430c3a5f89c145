"""The reply box: a TextArea where Ctrl+K, or ':' typed into an empty reply, asks for the canned-reply picker."""
from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import TextArea

from tui.i18n import N_


class ReplyArea(TextArea):
    """TextArea whose Ctrl+K (there: delete to line end) opens canned replies, like ':' at the start of a reply."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+k", "pick_macro", N_("Canned reply"), show=False, id="reply.macro"),
    ]

    class MacroWanted(Message):
        """The agent asked for the canned-reply picker in the reply box."""

    def action_pick_macro(self) -> None:
        self.post_message(self.MacroWanted())

    async def _on_key(self, event: events.Key) -> None:
        if event.character == ":" and not self.text and not self.read_only:
            event.stop()
            event.prevent_default()
            self.post_message(self.MacroWanted())
            return
        await super()._on_key(event)

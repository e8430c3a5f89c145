"""The conversation screen's collaboration actions: internal notes (N), transfer to another agent (t), tags (#)."""
from __future__ import annotations

from typing import cast

from textual.screen import Screen

from core.agents import AgentService
from core.collaboration import CollaborationService
from tui.i18n import _
from tui.messages import AgentChoice, ConversationTransferred, NoteAdded, TagsChanged, TransferTargetsRead
from tui.screens.notes import NoteScreen
from tui.screens.prompt import PromptScreen
from tui.screens.transfer import TransferChoice, TransferScreen
from tui.screens.workers import ChangesInWorkers
from tui.transcript import ConversationView


def tag_changes(text: str) -> tuple[list[str], list[str]]:
    """The tags to add and to remove in what the agent typed: words, '-word' removes (a leading '#' is ignored)."""
    add: list[str] = []
    remove: list[str] = []
    for word in text.replace(",", " ").split():
        word = word.lstrip("#")
        if word.startswith("-"):
            if word[1:].lstrip("#"):
                remove.append(word[1:].lstrip("#"))
        elif word.lstrip("+"):
            add.append(word.lstrip("+"))
    return add, remove


class CollaborationActions(ChangesInWorkers):
    """Mixin for ConversationScreen: each action asks in a dialog, then changes the conversation in a worker."""

    conversation_id: int
    shown: ConversationView | None

    def action_note(self) -> None:
        clock, agent_id, cid = self.context.clock, self.context.agent.id, self.conversation_id

        def written(text: str | None) -> None:
            if text:
                self._change(lambda s: CollaborationService(s, clock).add_note(cid, agent_id, text), NoteAdded(cid))

        cast(Screen[object], self).app.push_screen(NoteScreen(), written)

    def action_transfer(self) -> None:
        db, me, cid = self.context.db, self.context.agent.id, self.conversation_id
        node = cast(Screen[object], self)

        def read() -> None:
            with db.read_session() as session:
                agents = [AgentChoice(a.id, a.name, a.handle, a.status.value)
                          for a in AgentService(session, self.context.clock).list() if a.id is not None and a.id != me]
            node.post_message(TransferTargetsRead(cid, agents))

        node.run_worker(read, name="transfer-targets", group="screen-read", thread=True, exit_on_error=False)

    # A named handler, not @on: Textual collects @on handlers only from classes it builds (not from this mixin).
    def on_transfer_targets_read(self, message: TransferTargetsRead) -> None:
        message.stop()
        node = cast(Screen[object], self)
        if message.conversation_id != self.conversation_id:
            return
        if not message.agents:
            node.notify(_("There is no other agent to transfer to."), severity="warning")
            return
        clock, me, cid = self.context.clock, self.context.agent.id, self.conversation_id

        def chosen(choice: TransferChoice | None) -> None:
            if choice is None:
                return
            self._change(lambda s: CollaborationService(s, clock).transfer(cid, me, choice.agent_id, choice.note),
                         ConversationTransferred(cid))

        node.app.push_screen(TransferScreen(message.agents), chosen)

    def action_tags(self) -> None:
        current = " ".join(self.shown.conversation.tags) if self.shown is not None else ""
        clock, cid = self.context.clock, self.conversation_id

        def typed(text: str | None) -> None:
            if not text:
                return
            add, remove = tag_changes(text)
            if not add and not remove:
                return
            self._change(lambda s: CollaborationService(s, clock).change_tags(cid, add, remove), TagsChanged(cid))

        title = _("Tags: type words to add, -word to remove (now: {tags})").format(tags=current or "–")
        cast(Screen[object], self).app.push_screen(PromptScreen(title, "", placeholder="vip -billing"), typed)

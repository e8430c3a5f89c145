"""Canned replies in the console: the fuzzy picker of the reply box (Ctrl+K, or ':' in an empty reply), and what
happens when one is picked (its text, in the conversation's language, goes into the reply; its actions apply when
the reply is sent)."""
from __future__ import annotations

from typing import ClassVar, cast

from rich.text import Text
from sqlmodel import Session
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.fuzzy import Matcher
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from core.clock import Clock
from core.macros import MacroService, pick_text
from core.models import Macro
from tui.console_context import ConsoleContext
from tui.formatting import status_label
from tui.i18n import N_, _
from tui.messages import MacroChoice, MacroRendered, MacrosRead
from tui.screens.workers import ReportsWorkerFailures
from tui.text import literal, plain
from tui.widgets.reply_area import ReplyArea

PREVIEW_CHARS = 60


def macro_actions(macro: Macro) -> str:
    """What sending a reply begun from macro also does, for the agent to read ("" when nothing)."""
    parts = []
    if macro.set_status:
        parts.append(_("status {status}").format(status=status_label(macro.set_status)))
    if macro.assign_to_me:
        parts.append(_("assign to me"))
    if macro.add_tags:
        parts.append(" ".join(f"#{tag}" for tag in macro.add_tags))
    return ", ".join(parts)


def macro_choices(session: Session, clock: Clock, conversation_id: int | None = None) -> list[MacroChoice]:
    """Every canned reply, previewed in the text the picker would insert into conversation_id (if given)."""
    service = MacroService(session, clock)
    languages = service.languages_for(conversation_id) if conversation_id else ()
    choices = []
    for macro in service.all():
        if macro.id is None or not macro.texts:
            continue
        _language, text = pick_text(macro.texts, *languages)
        choices.append(MacroChoice(macro.id, macro.name, tuple(sorted(macro.texts)),
                                   plain(" ".join(str(text).split()), PREVIEW_CHARS), macro_actions(macro)))
    return choices


class MacroPicker(ModalScreen[int | None]):
    """Type to narrow the canned replies (fuzzy, by name), Enter inserts the highlighted one, Escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", N_("Cancel"), id="macro_picker.cancel"),
        Binding("down", "move(1)", N_("Down"), show=False, id="macro_picker.down"),
        Binding("up", "move(-1)", N_("Up"), show=False, id="macro_picker.up"),
    ]

    def __init__(self, macros: list[MacroChoice]) -> None:
        super().__init__()
        self.macros = macros
        self.shown: list[MacroChoice] = list(macros)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog macro-picker"):
            yield Static(_("Canned reply: type to search, Enter inserts it"), markup=False, classes="question")
            yield Input(placeholder=_("Name of the canned reply"), id="macro-search")
            yield OptionList(id="macro-options")

    def on_mount(self) -> None:
        self._fill("")
        self.query_one(Input).focus()

    def _fill(self, query: str) -> None:
        matcher = Matcher(query) if query.strip() else None
        scored = [(matcher.match(m.name) if matcher else 1.0, index, m) for index, m in enumerate(self.macros)]
        self.shown = [m for score, _index, m in sorted(scored, key=lambda s: (-s[0], s[1])) if score > 0]
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options([Option(self._label(m), id=str(m.id)) for m in self.shown])
        if self.shown:
            options.highlighted = 0

    @staticmethod
    def _label(macro: MacroChoice) -> Text:
        # Names are shown literally (an admin's text, never markup); the fuzzy score only orders them.
        label = literal(macro.name, "bold", one_line=True)
        label.append(f"  {' '.join(macro.languages)}", style="dim")
        if macro.actions:
            label.append("  → ", style="dim")
            label.append_text(literal(macro.actions, "yellow", one_line=True))
        label.append("\n")
        label.append_text(literal(macro.preview, "dim", one_line=True))
        return label

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        self._fill(event.value)

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if options.option_count:
            current = options.highlighted or 0
            options.highlighted = max(0, min(options.option_count - 1, current + step))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        options = self.query_one(OptionList)
        if options.highlighted is not None and options.option_count:
            option = options.get_option_at_index(options.highlighted)
            if option.id is not None:
                self.dismiss(int(option.id))

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.dismiss(int(event.option.id))

    def action_cancel(self) -> None:
        self.dismiss(None)


class MacroActions(ReportsWorkerFailures):
    """Mixin for ConversationScreen: the picker, the text put into the reply, and the macro whose actions the
    next send applies (pending_macro; forgotten when the agent empties the reply or opens another conversation)."""

    context: ConsoleContext
    conversation_id: int
    pending_macro: tuple[int, str] | None = None

    def action_pick_macro(self) -> None:
        """Read the canned replies in a worker, then open the picker."""
        node = cast(Screen[object], self)
        db, clock, cid = self.context.db, self.context.clock, self.conversation_id

        def read() -> None:
            with db.read_session() as session:
                choices = macro_choices(session, clock, cid)
            node.post_message(MacrosRead(cid, choices))

        node.run_worker(read, name="macros-read", group="screen-read", thread=True, exit_on_error=False)

    def on_reply_area_macro_wanted(self, message: ReplyArea.MacroWanted) -> None:
        message.stop()
        self.action_pick_macro()

    def on_macros_read(self, message: MacrosRead) -> None:
        message.stop()
        node = cast(Screen[object], self)
        if message.conversation_id != self.conversation_id:
            return
        if not message.macros:
            node.notify(_("There are no canned replies yet; an admin adds them in Settings (F2, then Ctrl+G)."),
                        severity="warning")
            return
        context, cid = self.context, self.conversation_id
        actions = {m.id: m.actions for m in message.macros}

        def picked(macro_id: int | None) -> None:
            if macro_id is None:
                return

            def render() -> None:
                with context.db.read_session() as session:
                    rendered = MacroService(session, context.clock).render(macro_id, cid, context.agent.id,
                                                                           context.config)
                node.post_message(MacroRendered(cid, rendered.macro_id, rendered.name, rendered.language,
                                                rendered.text, actions.get(macro_id, "")))

            node.run_worker(render, name="macro-render", group="screen-read", thread=True, exit_on_error=False)

        node.app.push_screen(MacroPicker(message.macros), picked)

    def on_macro_rendered(self, message: MacroRendered) -> None:
        message.stop()
        node = cast(Screen[object], self)
        if message.conversation_id != self.conversation_id:
            return
        reply = node.query_one("#reply", TextArea)
        reply.insert(message.text)
        reply.focus()
        self.pending_macro = (message.macro_id, message.name)
        if message.actions:
            node.notify(_("Sending this reply also applies: {actions}").format(actions=message.actions),
                        title=message.name, markup=False)

    def macro_to_apply(self, body: str) -> int | None:
        """The macro whose actions sending body applies: the one last inserted, while the reply is not empty."""
        if self.pending_macro is None or not body.strip():
            return None
        return self.pending_macro[0]

"""The key bar: one line listing the keys of the current screen that apply now, with what they do (a light footer).

Read from Screen.active_bindings, so an action the screen's check_action hides is not listed; descriptions are
msgids, shown in the agent's language.

Textual's Footer builds a widget per key and rebuilds them on every focus or screen change; this bar renders one
Text, which keeps switching screens fast.
"""
from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from tui.i18n import _


class KeyBar(Static):
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        background: $panel;
        color: $text;
        padding: 0 1;
    }
    """

    def on_mount(self) -> None:
        # Kept: while unmounting, the widget no longer knows its screen.
        self._signal = self.screen.bindings_updated_signal
        self._signal.subscribe(self, self.bindings_changed)
        self.call_after_refresh(self.show_keys)

    def on_unmount(self) -> None:
        self._signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen) -> None:
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self.show_keys)

    def show_keys(self) -> None:
        if not self.is_attached:
            return
        key_style = f"bold {self.app.theme_variables.get('footer-key-foreground', 'yellow')}"
        seen: set[str] = set()
        entries: list[tuple[Binding, bool, bool]] = []  # binding, enabled, whether the app (not the screen) has it
        for node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if not binding.show or not binding.description or binding.action in seen:
                continue
            seen.add(binding.action)
            entries.append((binding, enabled, node is self.app))
        width = self.content_size.width
        text = self._keys_text(entries, key_style)
        if text.cell_len > width:
            # A narrow terminal: the screen's own keys first; the app's (settings, mail) are in help and the palette.
            entries = [e for e in entries if not e[2] or e[0].action == "help"]
            text = self._keys_text(entries, key_style)
            # Still too wide: drop whole items from the end rather than cut a label in half ("^r" and no word).
            while text.cell_len > width and entries:
                entries.pop()
                text = self._keys_text(entries, key_style)
        self.update(text)

    def _keys_text(self, entries: list[tuple[Binding, bool, bool]], key_style: str) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        for binding, enabled, _of_app in entries:
            style = "" if enabled else "dim"
            text.append(self.app.get_key_display(binding), style=f"{key_style} {style}".strip())
            text.append(" " + _(binding.description) + "  ", style=style)
        text.append("^p", style=key_style)
        text.append(" " + _("Commands"))
        return text

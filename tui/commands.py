"""The command palette's provider: every key binding of the current screen and the app, plus each screen's extras."""
from __future__ import annotations

from functools import partial
from typing import Any, Callable

from textual.command import DiscoveryHit, Hit, Hits, Provider


def palette_entries(screen: Any, app: Any) -> list[tuple[str, str, Callable[[], Any]]]:
    """(title, help, callback) for each described binding of screen and app, then screen.palette_extras()."""
    entries: list[tuple[str, str, Callable[[], Any]]] = []
    seen: set[str] = set()
    for node in (screen, app):
        for bindings in node._bindings.key_to_bindings.values():
            for binding in bindings:
                if not binding.description or binding.action in seen or binding.action == "command_palette":
                    continue
                seen.add(binding.action)
                key = binding.key_display or binding.key
                entries.append((binding.description, key,
                                partial(app.call_later, app.run_action, binding.action, node)))
    extras = getattr(screen, "palette_extras", None)
    if extras is not None:
        entries.extend(extras())
    return entries


class ConsoleCommands(Provider):
    """Offers every action of the console by name."""

    async def discover(self) -> Hits:
        for title, help_text, callback in palette_entries(self.screen, self.app):
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in palette_entries(self.screen, self.app):
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)

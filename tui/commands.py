"""The command palette's provider: every action of the screen and the app that applies now, plus the screen's extras."""
from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Protocol, runtime_checkable

from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode
from textual.screen import Screen

from tui.i18n import _

Entry = tuple[str, str, Callable[[], object]]


@runtime_checkable
class OffersPaletteExtras(Protocol):
    def palette_extras(self) -> list[Entry]: ...


def declared_bindings(node: DOMNode) -> list[Binding]:
    """The console's own bindings of node as declared in its BINDINGS (they all have ids and descriptions).

    A binding of several keys ("escape,q") comes once per key, as Textual binds it.
    """
    return [binding for binding in Binding.make_bindings(node.BINDINGS) if binding.id and binding.description]


def applies(node: DOMNode, binding: Binding) -> bool:
    """Whether binding's action applies now: node.check_action neither hides (False) nor disables (None) it."""
    return bool(node.check_action(binding.action, ()))


def palette_entries(screen: Screen[object], app: App[object]) -> list[Entry]:
    """(title, key, callback) for each binding of screen and app whose action applies now, then palette_extras().

    check_action decides here as in the key bar, so an action that does not apply is not offered.
    """
    entries: list[Entry] = []
    seen: set[str] = set()
    for node in (screen, app):
        for binding in declared_bindings(node):
            if binding.action in seen or not applies(node, binding):
                continue
            seen.add(binding.action)
            entries.append((_(binding.description), app.get_key_display(binding),
                            partial(app.call_later, app.run_action, binding.action, node)))
    if isinstance(screen, OffersPaletteExtras):
        entries.extend(screen.palette_extras())
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

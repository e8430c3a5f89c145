"""Contracts of the console's code: screens get state handed down and post messages up; Textual's privates
stay private; results travel as typed messages."""
from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

from textual.binding import Binding
from textual.dom import DOMNode

import tui

TUI = Path(tui.__file__).parent
# What a screen may not reach for: the app's shared state, or Textual's private binding tables.
FORBIDDEN = {
    r"self\.app\.(context|drafts|agent|open_conversation)\b": "reaches into the app for state; use attributes "
                                                               "handed down or post a message up",
    r"\._bindings\b": "reads or writes Textual's private binding table; use BINDINGS, check_action, "
                      "active_bindings",
    r"getattr\(screen,": "calls screens by name; post them a message",
    r"\bclass (Loaded|ActionDone)\b": "an untyped result message; one Message subclass per result",
}


def test_screens_and_widgets_keep_the_console_contracts():
    broken = []
    for path in sorted(TUI.rglob("*.py")):
        text = path.read_text()
        for pattern, why in FORBIDDEN.items():
            for match in re.finditer(pattern, text):
                line = text.count("\n", 0, match.start()) + 1
                broken.append(f"{path.relative_to(TUI.parent)}:{line}: {match.group(0)!r} {why}")
    assert broken == []


def test_the_contract_check_sees_a_breach():
    """The patterns match what they are meant to forbid, so the test above can fail."""
    samples = ["self.app.context.db", "node._bindings.key_to_bindings", "getattr(screen, 'live_changed')",
               "class Loaded(Message):"]
    for sample, pattern in zip(samples, FORBIDDEN, strict=True):
        assert re.search(pattern, sample), pattern


def _keys_bound_twice(bindings: list) -> list[str]:
    seen: dict[str, str] = {}
    twice = []
    for binding in bindings:
        key_list, action = (binding.key, binding.action) if isinstance(binding, Binding) else binding[:2]
        for key in key_list.split(","):
            key = key.strip()
            if key in seen and seen[key] != action:
                twice.append(f"{key}: {seen[key]} and {action}")
            seen.setdefault(key, action)
    return twice


def _console_classes_with_bindings() -> list[type]:
    for info in pkgutil.walk_packages(tui.__path__, "tui."):
        importlib.import_module(info.name)
    found, todo = [], [DOMNode]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("tui.") and "BINDINGS" in vars(cls):
            found.append(cls)
    return found


def test_no_screen_binds_one_key_to_two_actions():
    """A key bound twice silently runs only one action (Ctrl+R once meant both "reset template" and "typing
    preview"; the second never ran)."""
    classes = _console_classes_with_bindings()
    assert len(classes) > 10
    clashes = {f"{cls.__module__}.{cls.__qualname__}": twice for cls in classes
               if (twice := _keys_bound_twice(cls.BINDINGS))}
    assert clashes == {}


def test_the_clash_check_sees_a_clash():
    assert _keys_bound_twice([Binding("ctrl+r", "reset"), Binding("escape,ctrl+r", "preview")]) == [
        "ctrl+r: reset and preview"]

"""Contracts of the console's code: screens get state handed down and post messages up; Textual's privates
stay private; results travel as typed messages."""
from __future__ import annotations

import re
from pathlib import Path

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

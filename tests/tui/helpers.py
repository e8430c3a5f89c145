"""Waiting for the console in Pilot tests: poll a condition between UI turns, with an upper bound."""
from __future__ import annotations

import time
from collections.abc import Callable

# Only a safety net for a broken test: conditions normally hold after a few UI turns.
LIMIT_SECONDS = 10.0


async def wait_for(pilot, condition: Callable[[], bool], limit: float = LIMIT_SECONDS, what: str = "") -> float:
    """Let the app run until condition() holds; returns the seconds it took; fails after limit."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > limit:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.02)
    return time.monotonic() - start


def screen_text(app) -> str:
    """Every Static's visible text on the current screen, one per line."""
    from textual.widgets import Static

    parts = []
    for widget in app.screen.query(Static):
        content = widget.render()
        parts.append(getattr(content, "plain", str(content)))
    return "\n".join(parts)


def rows_loaded(app) -> bool:
    from textual.widgets import DataTable

    from tui.screens.queue import QueueScreen

    return isinstance(app.screen, QueueScreen) and app.screen.page is not None and \
        app.screen.query_one("#queue", DataTable).row_count == len(app.screen.page.rows)

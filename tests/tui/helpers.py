"""Waiting for the console in Pilot tests: poll a condition between UI turns, with an upper bound."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import event

from core.conversations import ConversationService
from tui.screens.conversation import ConversationScreen

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


@dataclass
class QueryLog:
    """Every SQL statement the console ran while watched, and those run on the UI thread (which must be none)."""

    statements: list[str] = field(default_factory=list)
    on_ui_thread: list[str] = field(default_factory=list)


@contextmanager
def queries_by_thread(db) -> Iterator[QueryLog]:
    """Watch every engine of db (on SQLite, writes have a pool of their own) for statements, noting the thread."""
    ui_thread = threading.current_thread()  # Pilot runs the app on the test's thread
    log = QueryLog()

    def before_execute(conn, cursor, statement, parameters, context, executemany):
        log.statements.append(statement)
        if threading.current_thread() is ui_thread:
            log.on_ui_thread.append(statement)

    for engine in db.engines:
        event.listen(engine, "before_cursor_execute", before_execute)
    try:
        yield log
    finally:
        for engine in db.engines:
            event.remove(engine, "before_cursor_execute", before_execute)


async def open_conversation(pilot, app, conversation_id: int):
    """From the queue, open a conversation and wait until the screen shows it with its messages."""
    await wait_for(pilot, lambda: rows_loaded(app), what="queue rows")
    app.open_conversation(conversation_id)
    await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen) and app.screen.shown is not None
                   and app.screen.shown.conversation.id == conversation_id and app.screen.query(".message"),
                   what="conversation shown")
    return app.screen


def conversation(desk, key: str):
    """The desk's conversation named key, as core reads it now."""
    with desk.db.read_session() as session:
        return ConversationService(session, desk.clock).get(desk.conversations[key])

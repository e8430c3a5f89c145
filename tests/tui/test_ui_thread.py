"""No database call runs on the UI thread: every query of a whole session of the console comes from a worker."""
from __future__ import annotations

import threading

from sqlalchemy import event

from tests.tui.helpers import rows_loaded, wait_for
from tui.screens.conversation import ConversationScreen
from tui.screens.mail import MailScreen
from tui.screens.queue import QueueScreen
from tui.screens.settings import SettingsScreen


async def test_the_ui_thread_never_queries_the_database(desk, make_console):
    app = make_console()  # the factory reads the agent before the app runs, as `threadline console` does
    ui_thread = threading.current_thread()
    on_ui_thread: list[str] = []
    queries: list[str] = []

    def before_execute(conn, cursor, statement, parameters, context, executemany):
        queries.append(statement)
        if threading.current_thread() is ui_thread:
            on_ui_thread.append(statement)

    for engine in desk.db.engines:  # reads and writes (on SQLite, writes have a pool of their own)
        event.listen(engine, "before_cursor_execute", before_execute)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_for(pilot, lambda: rows_loaded(app))
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen) and app.screen.shown)
            await pilot.press("r", *"Hello", "ctrl+s", "escape", "s", "y", "q")
            await pilot.press("f2")
            await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen) and app.screen.data)
            await pilot.press("escape", "f3")
            await wait_for(pilot, lambda: isinstance(app.screen, MailScreen) and app.screen.data)
            await pilot.press("escape")  # back from each screen to the queue
            await wait_for(pilot, lambda: isinstance(app.screen, QueueScreen))
            await pilot.press("slash", *"Bea", "enter")
            await pilot.pause(0.2)
    finally:
        for engine in desk.db.engines:
            event.remove(engine, "before_cursor_execute", before_execute)
    assert len(queries) > 20  # the listener saw the console's work, so it would see a query on the UI thread
    assert on_ui_thread == []

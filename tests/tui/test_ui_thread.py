"""No database call runs on the UI thread: every query of a whole session of the console comes from a worker."""
from __future__ import annotations

from tests.tui.helpers import queries_by_thread, rows_loaded, wait_for
from tui.screens.conversation import ConversationScreen
from tui.screens.mail import MailScreen
from tui.screens.queue import QueueScreen
from tui.screens.settings import SettingsScreen


async def test_the_ui_thread_never_queries_the_database(desk, make_console):
    app = make_console()  # the factory reads the agent before the app runs, as `threadline console` does
    with queries_by_thread(desk.db) as log:
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
    assert len(log.statements) > 20  # the listener saw the console's work, so it would see a query on the UI thread
    assert log.on_ui_thread == []

"""No database call on the UI thread in the productivity screens either: notes, transfer, tags, canned replies (the
picker and Settings) and Reports each read and write in workers."""
from __future__ import annotations

from textual.widgets import TextArea

from core.macros import MacroDraft, MacroService
from tests.tui.helpers import queries_by_thread, rows_loaded, wait_for
from tui.screens.conversation import ConversationScreen
from tui.screens.macro_settings import MacrosScreen
from tui.screens.macros import MacroPicker
from tui.screens.notes import NoteScreen
from tui.screens.prompt import PromptScreen
from tui.screens.reports import ReportsScreen
from tui.screens.transfer import TransferScreen


async def test_the_productivity_screens_never_query_on_the_ui_thread(desk, make_console):
    with desk.db.session() as session:
        MacroService(session, desk.clock).save(MacroDraft("Hello", {"en": "Hello {{ end_user_name }}"}))
    app = make_console()
    with queries_by_thread(desk.db) as log:
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_for(pilot, lambda: rows_loaded(app))
            app.open_conversation(desk.conversations["chen"])
            await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen) and app.screen.shown)
            await pilot.press("N")
            await wait_for(pilot, lambda: isinstance(app.screen, NoteScreen))
            await pilot.press(*"note", "ctrl+s")
            await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen))
            await pilot.press("number_sign")
            await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
            await pilot.press(*"vip", "enter")
            await pilot.press("r", "colon")
            await wait_for(pilot, lambda: isinstance(app.screen, MacroPicker))
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen)
                           and app.screen.query_one("#reply", TextArea).text.startswith("Hello"))
            await pilot.press("ctrl+s", "escape", "t")
            await wait_for(pilot, lambda: isinstance(app.screen, TransferScreen))
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen))
            await pilot.press("f4")
            await wait_for(pilot, lambda: isinstance(app.screen, ReportsScreen) and app.screen.report)
            await pilot.press("3", "escape", "f2", "ctrl+g")
            await wait_for(pilot, lambda: isinstance(app.screen, MacrosScreen) and app.screen.rows)
            await pilot.pause(0.2)
    assert len(log.statements) > 20
    assert log.on_ui_thread == []

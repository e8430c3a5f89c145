"""The console under another process's write lock: a refused change is told in a notice, nothing is half-saved."""
from __future__ import annotations

from core.conversations import ConversationService
from core.db import Database
from tests.fixtures.database_faults import sqlite_path, write_lock_held_by_another_process
from tests.tui.conftest import console_config
from tests.tui.helpers import rows_loaded, wait_for
from tui.app import build_app
from tui.screens.conversation import ConversationScreen


def _conversation(db: Database, clock, conversation_id: int):
    with db.read_session() as session:
        return ConversationService(session, clock).get(conversation_id)


async def test_a_reply_while_another_process_holds_the_write_lock_is_refused_with_a_notice(desk):
    busy_db = Database(desk.db.url, write_timeout=0.3)
    app = build_app(busy_db, agent_handle="sam", clock=desk.clock, config=console_config(), poll_seconds=0.05)
    bea = desk.conversations["bea"]
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_for(pilot, lambda: rows_loaded(app))
            app.open_conversation(bea)
            await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen) and app.screen.shown is not None)
            last_seq = _conversation(desk.db, desk.clock, bea).last_seq
            await wait_for(pilot, lambda: _conversation(desk.db, desk.clock, bea).agent_read_seq == last_seq,
                           what="read mark written before the lock")
            with write_lock_held_by_another_process(sqlite_path(desk.db.url)):
                await pilot.press("r", *"Hallo!", "ctrl+s")
                await wait_for(pilot, lambda: any(n.severity == "error" and "busy" in n.message
                                                  for n in app._notifications), what="busy notice")
                assert _conversation(desk.db, desk.clock, bea).last_seq == last_seq
    finally:
        busy_db.dispose()

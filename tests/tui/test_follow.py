"""The console follows the event log: a commit that lands while it reads is not left for the next poll."""
from __future__ import annotations

import threading

from sqlalchemy import event
from sqlalchemy.engine import Engine

from core.conversations import ConversationService
from core.events import EventLog
from tests.tui.helpers import wait_for


async def test_a_commit_during_the_consoles_read_is_read_at_once_not_at_the_next_poll(desk, make_console):
    """The commit's nudge comes after the read took its snapshot and before the console waits. A wait that
    counted nudges only from its own start slept through it, until the next poll: 5 s on PostgreSQL with push, here
    a minute (poll_seconds=60)."""
    posted: list[int] = []

    def post_during_the_read(conn, cursor, statement, *args) -> None:
        if "event.id >" not in statement or posted or str(conn.engine.url) != str(desk.db.engine.url):
            return
        posted.append(0)

        def post() -> None:  # another console's agent, in its own thread and session
            with desk.db.session() as session:
                ConversationService(session, desk.clock).post_end_user_message(desk.conversations["bea"], "Hallo?")
                posted[0] = EventLog(session).latest_id()

        writer = threading.Thread(target=post)
        writer.start()
        writer.join()

    event.listen(Engine, "after_cursor_execute", post_during_the_read)
    try:
        app = make_console("sam", poll_seconds=60.0)
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_for(pilot, lambda: bool(posted) and posted[0] > 0, what="the commit during the read")
            await wait_for(pilot, lambda: app.cursor >= posted[0], what="the console read the commit")
    finally:
        event.remove(Engine, "after_cursor_execute", post_during_the_read)

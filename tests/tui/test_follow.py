"""The console follows the event log (a commit that lands while it reads is not left for the next poll) and acts
only on what it shows."""
from __future__ import annotations

import threading

from sqlalchemy import event
from sqlalchemy.engine import Engine

from core.conversations import ConversationService
from core.events import EventLog
from tests.tui.helpers import conversation, rows_loaded, wait_for
from tui.screens.conversation import ConversationScreen


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


async def test_keys_typed_while_a_conversation_loads_do_not_act_on_it(desk, make_console):
    """An agent who presses Enter and types on at once: until the conversation is on screen, its action keys (s asks
    to solve, a assigns, b asks to block) do nothing. A reply typed ahead is letters that are also keys: in a CI run
    of the README walkthrough, "It ships today." reached the screen before the reply box and solved the
    conversation."""
    loaded = threading.Event()
    holding = [False]

    def hold_the_load(conn, cursor, statement, *args) -> None:  # the console's reads, in its worker threads
        if holding[0] and threading.current_thread() is not threading.main_thread() \
                and str(conn.engine.url) == str(desk.db.engine.url):
            loaded.wait(10)

    before = conversation(desk, "chen")
    event.listen(Engine, "before_cursor_execute", hold_the_load)
    try:
        app = make_console("sam")
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_for(pilot, lambda: rows_loaded(app), what="queue rows")
            holding[0] = True
            app.open_conversation(desk.conversations["chen"])
            await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen), what="conversation screen")
            assert app.screen.shown is None  # still loading
            await pilot.press("s", "a", "b")
            holding[0] = False
            loaded.set()
            await wait_for(pilot, lambda: not isinstance(app.screen, ConversationScreen) or app.screen.shown,
                           what="conversation shown")
            await pilot.pause()
            opened = type(app.screen).__name__
            assert isinstance(app.screen, ConversationScreen), f"a key typed while loading opened {opened}"
            # Any change a key started has run (the console's follower runs until the app ends).
            await wait_for(pilot, lambda: all(w.is_finished for w in app.workers if w.group != "follow"),
                           what="the console's workers done")
    finally:
        loaded.set()
        event.remove(Engine, "before_cursor_execute", hold_the_load)
    after = conversation(desk, "chen")
    assert (after.status, after.assignee_id) == (before.status, before.assignee_id)
    assert after.status != "solved" and after.assignee_id != desk.agent_id

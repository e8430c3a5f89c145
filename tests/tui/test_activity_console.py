"""Typing and viewing indicators in the console, written by another process (as a widget server and another agent's
console write them): "<end user> is typing", "Dana is replying", the preview only with the account's opt-in, and
this console's own reports. Runs on PostgreSQL too (database_url)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlmodel import select

from core.activity import ActivityService
from core.activity_rules import TYPING_TTL, agent_participant
from core.agents import AgentService
from core.models import Activity, RatingScore
from core.ratings import RatingService
from core.settings import SettingsService
from tests.tui.helpers import open_conversation, rows_loaded, wait_for
from tui.screens.settings import SettingsScreen
from tui.widgets.activity_line import ActivityLine

ROOT = Path(__file__).resolve().parents[2]
# Another process: the widget server recording the end user's typing, and Dana's console recording her reply.
WRITER = """
import sys
from datetime import datetime
from core.activity import ActivityService
from core.clock import FixedClock
from core.db import Database
url, at, conversation_id, agent_id, text = sys.argv[1:6]
db = Database(url)
with db.session() as session:
    activity = ActivityService(session, FixedClock(datetime.fromisoformat(at)))
    activity.end_user_typing(int(conversation_id), text)
    activity.agent_active(int(conversation_id), int(agent_id), typing=True)
db.dispose()
"""


def _dana(desk) -> int:
    with desk.db.session() as session:
        return AgentService(session, desk.clock).add("dana", "Dana").id


def _write_elsewhere(desk, database_url: str, conversation_id: int, agent_id: int, text: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", WRITER, database_url, desk.clock.now().isoformat(), str(conversation_id),
                    str(agent_id), text], check=True, env=env, timeout=60, cwd=ROOT)


def _line(app) -> str:
    return str(app.screen.query_one(ActivityLine).render())




async def test_the_end_user_typing_and_dana_replying_show_without_the_text(desk, make_console, database_url):
    dana = _dana(desk)
    bea = desk.conversations["bea"]
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await open_conversation(pilot, app, bea)
        assert not app.screen.query_one(ActivityLine).display  # nobody else here yet
        _write_elsewhere(desk, database_url, bea, dana, "my card number is 4111")
        await wait_for(pilot, lambda: "Dana is replying" in _line(app), what="Dana replying")
        assert "Bea Schmidt is typing…" in _line(app)
        assert "4111" not in _line(app)  # the preview is off by default
        # Expired reports go without anyone removing them: the typing lapses, Dana still has it open.
        desk.clock.advance(TYPING_TTL)
        await wait_for(pilot, lambda: _line(app) == "Dana is viewing", what="typing expired")
        # This console reported Sam viewing, so Dana's console shows "Sam Agent is viewing".
        with desk.db.read_session() as session:
            sam = session.get(Activity, (bea, agent_participant(desk.agent_id)))
            assert sam is not None and sam.viewing_until > desk.clock.now() and sam.typing_until is None


async def test_the_preview_shows_once_an_admin_switches_it_on(desk, make_console, database_url):
    dana = _dana(desk)
    bea = desk.conversations["bea"]
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: rows_loaded(app), what="queue rows")
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen) and app.screen.data is not None)
        await pilot.press("ctrl+o")

        def preview_on() -> bool:
            with desk.db.read_session() as session:
                return SettingsService(session, desk.clock).load().typing_preview

        await wait_for(pilot, preview_on, what="typing preview switched on")
        await pilot.press("escape")
        await open_conversation(pilot, app, bea)
        _write_elsewhere(desk, database_url, bea, dana, "[bold]my order[/bold] 1234")
        await wait_for(pilot, lambda: "1234" in _line(app), what="preview")
        assert "Bea Schmidt is typing: [bold]my order[/bold] 1234" in _line(app)  # literally, never markup
        assert "Dana is replying" in _line(app)


async def test_typing_a_reply_reports_it_throttled_and_sending_ends_it(desk, make_console):
    chen = desk.conversations["chen"]
    app = make_console()

    def sam_row() -> Activity | None:
        with desk.db.read_session() as session:
            return session.exec(select(Activity).where(Activity.participant == agent_participant(desk.agent_id),
                                                       Activity.conversation_id == chen)).first()

    async with app.run_test(size=(120, 36)) as pilot:
        await open_conversation(pilot, app, chen)
        await pilot.press("r", *"Let me check that")
        await wait_for(pilot, lambda: (row := sam_row()) is not None and row.typing_until is not None,
                       what="typing reported")
        with desk.db.read_session() as session:
            assert chen in ActivityService(session, desk.clock).agents_typing_now()  # the widget shows it
        updated = sam_row().updated_at
        desk.clock.advance(1)
        await pilot.press(*" please")  # within the write interval: throttled, nothing written
        await pilot.pause(0.3)
        assert sam_row().updated_at == updated
        desk.clock.advance(1)
        await pilot.press("!")  # the interval has passed: "still typing" is written
        await wait_for(pilot, lambda: sam_row().updated_at > updated, what="typing refreshed")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: sam_row().typing_until is None, what="typing ended by sending")
        await pilot.press("escape", "q")  # leaving the conversation removes the row at once
        await wait_for(pilot, lambda: sam_row() is None, what="row removed on leaving")


def _header(app) -> str:
    return str(app.screen.query_one("#conversation-header").render())


async def test_the_rating_shows_on_the_conversation_and_follows_a_change(desk, make_console):
    eli = desk.conversations["eli"]  # solved
    with desk.db.session() as session:
        RatingService(session, desk.clock).rate(eli, RatingScore.good, "Quick and [b]kind[/b]")
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await open_conversation(pilot, app, eli)
        await wait_for(pilot, lambda: "Rated good by the end user: Quick and [b]kind[/b]" in _header(app),
                       what="rating in the header")
        with desk.db.session() as session:  # the end user changes their mind in the widget
            RatingService(session, desk.clock).rate(eli, RatingScore.bad, None)
        await wait_for(pilot, lambda: "Rated bad by the end user" in _header(app), what="changed rating")
        assert "Quick" not in _header(app)
        await pilot.press("q")
        await open_conversation(pilot, app, desk.conversations["bea"])
        assert "Rated" not in _header(app)

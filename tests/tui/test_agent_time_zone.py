"""The console shows times in the signed-in agent's time zone (Agent.timezone), not in UTC."""
from __future__ import annotations

import pytest

from core.agents import AgentService
from tests.tui.helpers import rows_loaded, screen_text, wait_for
from tui.screens.conversation import ConversationScreen
from tui.text import set_time_zone


@pytest.fixture(autouse=True)
def back_to_utc():
    yield
    set_time_zone(None)  # the zone is per console process; later tests start from UTC


async def _first_transcript(desk, make_console, handle):
    app = make_console(handle)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: rows_loaded(app), what="queue rows")
        await pilot.press("enter")  # Alex, who wrote at 09:07 UTC (FixedClock starts at 09:00, +7 minutes)
        await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen) and app.screen.shown is not None)
        return screen_text(app)


async def test_an_agent_in_tokyo_sees_tokyo_times(desk, make_console):
    with desk.db.session() as session:
        AgentService(session, desk.clock).add("yuki", "Yuki Agent", timezone="Asia/Tokyo")
    text = await _first_transcript(desk, make_console, "yuki")
    assert "18:07" in text and "09:07" not in text


async def test_an_agent_without_a_zone_sees_utc(desk, make_console):
    text = await _first_transcript(desk, make_console, "sam")
    assert "09:07" in text

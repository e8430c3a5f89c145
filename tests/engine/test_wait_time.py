"""The expected wait: offline without agents or outside business hours, else from recent first responses."""
from datetime import timedelta

from core.agents import AgentService
from core.wait_time import estimate


def answered_after(desk, seconds):
    conversation = desk.start(present=False)
    desk.clock.advance(seconds)
    desk.reply(conversation)


def test_team_offline_without_agents_online(desk):
    desk.start(present=False)
    found = estimate(desk.session, desk.clock)
    assert (found.team_online, found.agents_online, found.queue_length, found.seconds) == (False, 0, 1, None)


def test_no_history_gives_no_estimate(desk):
    AgentService(desk.session, desk.clock).set_status(desk.agent.id, "online")
    found = estimate(desk.session, desk.clock)
    assert found.team_online and found.seconds is None


def test_median_first_response_scaled_by_the_queue_per_agent(desk):
    AgentService(desk.session, desk.clock).set_status(desk.agent.id, "online")
    for seconds in (60, 120, 600):
        answered_after(desk, seconds)
    assert estimate(desk.session, desk.clock).seconds == 120  # empty queue: one median response
    desk.start(present=False)
    desk.start(present=False)
    found = estimate(desk.session, desk.clock)
    assert found.queue_length == 2 and found.seconds == 3 * 120
    second = AgentService(desk.session, desk.clock).add("cy", "Cy")
    AgentService(desk.session, desk.clock).set_status(second.id, "online")
    assert estimate(desk.session, desk.clock).seconds == 2 * 120


def test_outside_business_hours_the_team_is_offline(desk):
    AgentService(desk.session, desk.clock).set_status(desk.agent.id, "online")
    desk.settings.update(business_hours={"timezone": "UTC", "days": {"mon": [["00:00", "24:00"]]}})
    assert estimate(desk.session, desk.clock).team_online  # the fixed clock starts on a Monday
    desk.clock.advance(timedelta(days=1))
    assert not estimate(desk.session, desk.clock).team_online

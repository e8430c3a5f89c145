"""Report figures over a seeded history with known answers (the clock is injected, so every time is exact)."""
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.collaboration import CollaborationService
from core.errors import InvalidInput
from core.models import OptOutSource, OutboxJob, OutboxStatus
from core.opt_outs import OptOutService
from core.reports import ReportService, Satisfaction, percentile, period_start, report_dict, report_rows


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


def sent_email(desk, conversation_id: int, when: datetime) -> None:
    desk.session.add(OutboxJob(conversation_id=conversation_id, idempotency_key=f"seed-{conversation_id}-{when}",
                               to_address="x@example.com", message_id=f"<seed-{conversation_id}@example.com>",
                               status=OutboxStatus.sent, next_attempt_at=when, created_at=when, sent_at=when))
    desk.session.commit()


@pytest.fixture
def history(desk):
    """O: older, solved in the period after 48 h. A: answered after 2 min, solved after 1 h. B: answered after
    10 min, emailed, answered by email. C: answered after 1 h, emailed, unsubscribed. D: unanswered (a note only)."""
    service = desk.conversations

    def start(when: datetime, name: str) -> int:
        desk.clock.set(when)
        end_user = service.create_end_user(name, f"{name.lower()}@example.com", "en", email_verified=True)
        conversation = service.start_conversation(end_user.id)
        service.post_end_user_message(conversation.id, f"Hello from {name}")
        return conversation.id

    def reply(cid: int, when: datetime) -> None:
        desk.clock.set(when)
        service.post_agent_message(cid, desk.agent.id, "An answer")

    o = start(at(4, 10), "O")
    reply(o, at(4, 11))
    desk.clock.set(at(6, 10))
    service.set_status(o, "solved")
    a = start(at(6, 9), "A")
    reply(a, at(6, 9, 2))
    desk.clock.set(at(6, 10))
    service.set_status(a, "solved")
    b = start(at(7, 14), "B")
    reply(b, at(7, 14, 10))
    sent_email(desk, b, at(7, 14, 20))
    desk.clock.set(at(7, 18, 30))
    service.post_end_user_message(b, "Thanks, by email", channel="email")
    c = start(at(8, 14, 30), "C")
    reply(c, at(8, 15, 30))
    sent_email(desk, c, at(8, 16))
    desk.clock.set(at(8, 17))
    OptOutService(desk.session, desk.clock).stop("c@example.com", OptOutSource.one_click)
    d = start(at(10, 20), "D")
    desk.clock.set(at(10, 21))
    CollaborationService(desk.session, desk.clock).add_note(d, desk.agent.id, "call them tomorrow")
    desk.clock.set(at(12, 12))
    return desk


def test_seven_days_of_known_history(history):
    report = ReportService(history.session, history.clock).report("7d")
    assert report.since == at(5, 12) and report.until == at(12, 12)
    assert report.conversations_started == 4  # A, B, C, D (O started before the period)
    assert (report.first_response.count, report.first_response.median, report.first_response.p90) == (3, 600, 3600)
    assert report.unanswered == 1  # D: a note is no response
    assert (report.resolution.count, report.resolution.median, report.resolution.p90) == (2, 88200, 172800)
    assert (report.conversations_emailed, report.answered_by_email, report.share_answered_by_email) == (2, 1, 0.5)
    assert (report.end_user_replies_by_email, report.end_user_replies_by_messaging) == (1, 4)
    assert report.unsubscribes == 1
    hours = {hour: count for hour, count in enumerate(report.busiest_hours) if count}
    assert hours == {9: 1, 14: 2, 18: 1, 20: 1}
    assert report.started_series == [1, 0, 1, 1, 0, 1, 0] and report.bucket == "day"
    assert report.satisfaction is None


def test_busiest_hours_and_today_follow_the_time_zone(history):
    berlin = ZoneInfo("Europe/Berlin")  # UTC+1 in January
    report = ReportService(history.session, history.clock).report("7d", berlin)
    assert {h: c for h, c in enumerate(report.busiest_hours) if c} == {10: 1, 15: 2, 19: 1, 21: 1}
    history.clock.set(at(10, 23, 30))  # 00:30 on the 11th in Berlin: D (20:00 UTC on the 10th) is yesterday
    assert ReportService(history.session, history.clock).report("today", berlin).conversations_started == 0
    today_utc = ReportService(history.session, history.clock).report("today")
    assert today_utc.conversations_started == 1 and today_utc.bucket == "hour"
    assert today_utc.started_series[20] == 1 and len(today_utc.started_series) == 24


def test_thirty_days_and_an_empty_period(history):
    report = ReportService(history.session, history.clock).report("30d")
    assert report.conversations_started == 5 and report.first_response.count == 4
    history.clock.set(at(12, 12) + timedelta(days=40))
    empty = ReportService(history.session, history.clock).report("7d")
    assert empty.conversations_started == 0 and empty.first_response.median is None
    assert empty.share_answered_by_email is None and sum(empty.busiest_hours) == 0


def test_percentile_is_nearest_rank():
    assert percentile([], 0.9) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([float(n) for n in range(1, 11)], 0.9) == 9.0
    assert percentile([float(n) for n in range(1, 101)], 0.5) == 50.0


def test_periods_are_checked():
    now = at(12, 12)
    assert period_start("12h", now) == at(12, 0)
    for bad in ("", "week", "0d", "-3d", "7x"):
        with pytest.raises(InvalidInput):
            period_start(bad, now)


def test_export_shapes_and_the_satisfaction_extension_point(history):
    report = ReportService(history.session, history.clock).report("7d")
    data = report_dict(report)
    assert data["first_response_seconds"] == {"count": 3, "median": 600, "p90": 3600}
    assert "satisfaction" not in data
    rows = dict(report_rows(report))
    assert rows["end_user_replies.email"] == 1 and rows["busiest_hours.14"] == 2 and rows["started_per_day.00"] == 1
    # When ratings exist (core.reports.satisfaction_figures), every output carries them.
    rated = type(report)(**{**report.__dict__, "satisfaction": Satisfaction(good=3, bad=1)})
    assert report_dict(rated)["satisfaction"] == {"good": 3, "bad": 1, "share_good": 0.75}

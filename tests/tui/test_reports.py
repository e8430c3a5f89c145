"""Pilot tests of the Reports screen (F4): the figures of the seeded desk, switching periods, labels."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rich.console import Console
from textual.widgets import Sparkline

from core.reports import Durations, Report, Satisfaction
from tests.tui.helpers import rows_loaded, wait_for
from tui.screens.reports import ReportsScreen, duration_label, figures_table


async def test_f4_shows_the_figures_and_the_periods_switch(desk, make_console):
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: rows_loaded(app), what="queue rows")
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, ReportsScreen) and app.screen.report is not None)
        report = app.screen.report
        # The console desk: five conversations started within the last hours; Chen's was answered 14 minutes after
        # it started (the end user wrote after 7).
        assert report.conversations_started == 5 and report.first_response.median == 14 * 60
        assert app.screen.query_one("#started-sparkline", Sparkline).data == [float(n)
                                                                              for n in report.started_series]
        await pilot.press("1")
        await wait_for(pilot, lambda: app.screen.report.bucket == "hour", what="today")
        await pilot.press("3")
        await wait_for(pilot, lambda: app.screen.report.until - app.screen.report.since == timedelta(days=30),
                       what="30 days")
        await pilot.press("escape")
        assert not isinstance(app.screen, ReportsScreen)


def test_durations_read_like_people_say_them():
    assert [duration_label(s) for s in (None, 45, 600, 3 * 3600 + 300, 50 * 3600)] == [
        "–", "45 s", "10 min", "3 h 05 min", "2 d 2 h"]


def test_satisfaction_shows_only_when_ratings_exist():
    none = Durations(0, None, None)
    report = Report(since=datetime(2026, 1, 1, tzinfo=UTC), until=datetime(2026, 1, 8, tzinfo=UTC),
                    conversations_started=0, first_response=none, unanswered=0, resolution=none,
                    conversations_emailed=0, answered_by_email=0, end_user_replies_by_email=0,
                    end_user_replies_by_messaging=0, unsubscribes=0, busiest_hours=[0] * 24)
    assert "Satisfaction" not in _plain(figures_table(report))
    rated = Report(**{**report.__dict__, "satisfaction": Satisfaction(good=3, bad=1)})
    assert "Satisfaction 3 good, 1 bad (75% good)" in _plain(figures_table(rated))


def _plain(table) -> str:
    console = Console(width=100, record=True, color_system=None)
    console.print(table)
    return " ".join(console.export_text().split())

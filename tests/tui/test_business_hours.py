"""Pilot tests of the business-hours editor: saved through core's settings, refused input changes nothing."""
from __future__ import annotations

from textual.widgets import Input, Static, Switch

from core.account_settings import WEEKDAYS, BusinessHours
from core.settings import SettingsService
from tests.tui.helpers import wait_for
from tui.screens.business_hours import BusinessHoursScreen, hours_summary
from tui.screens.settings import SettingsScreen

WORKDAYS = ("mon", "tue", "wed", "thu", "fri")


def _hours(desk):
    with desk.db.read_session() as session:
        return SettingsService(session, desk.clock).load().business_hours


async def _open_editor(app, pilot):
    await pilot.press("f2")
    await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen) and app.screen.data is not None)
    await pilot.press("ctrl+b")
    await wait_for(pilot, lambda: isinstance(app.screen, BusinessHoursScreen))
    await pilot.pause()
    return app.screen


def _set(editor, selector, value):
    widget = editor.query_one(selector)
    widget.value = value


async def test_editor_saves_weekday_hours_in_a_time_zone(desk, make_console):
    app = make_console()
    async with app.run_test(size=(80, 24)) as pilot:
        editor = await _open_editor(app, pilot)
        _set(editor, "#always-open", False)
        for day in WEEKDAYS:
            _set(editor, f"#open-{day}", day in WORKDAYS)
            _set(editor, f"#start-{day}", "09:00")
            _set(editor, f"#end-{day}", "17:00")
        _set(editor, "#zone", "Europe/Berlin")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: _hours(desk) is not None, what="hours stored")
        stored = _hours(desk)
        assert stored == BusinessHours(timezone="Europe/Berlin", days={d: [["09:00", "17:00"]] for d in WORKDAYS})
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen) and "Europe/Berlin" in
                       str(app.screen.query_one("#hours-summary", Static).render()))
        assert str(app.screen.query_one("#hours-summary", Static).render()) == "Mon–Fri 09:00–17:00 (Europe/Berlin)"


async def test_invalid_time_and_unknown_zone_are_named_and_change_nothing(desk, make_console):
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        editor = await _open_editor(app, pilot)
        _set(editor, "#always-open", False)
        _set(editor, "#open-mon", True)
        _set(editor, "#start-mon", "9h")
        _set(editor, "#zone", "Europe/Berlin")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        error = str(editor.query_one("#hours-error", Static).render())
        assert "'9h' is not a time of day; write it as HH:MM." in error
        assert app.screen is editor
        _set(editor, "#start-mon", "09:00")
        _set(editor, "#zone", "Mars/Olympus")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        error = str(editor.query_one("#hours-error", Static).render())
        assert "Unknown time zone 'Mars/Olympus'" in error
        assert app.screen is editor
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
        await pilot.pause()
        assert _hours(desk) is None


async def test_always_open_clears_the_hours(desk, make_console):
    with desk.db.session() as session:
        SettingsService(session, desk.clock).update(
            business_hours={"timezone": "Europe/Berlin", "days": {"mon": [["09:00", "12:00"], ["13:00", "17:00"]]}})
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        editor = await _open_editor(app, pilot)
        assert editor.query_one("#open-mon", Switch).value is True
        assert editor.query_one("#start-mon", Input).value == "09:00"
        _set(editor, "#always-open", True)
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: _hours(desk) is None, what="hours cleared")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen) and
                       str(app.screen.query_one("#hours-summary", Static).render()) == "always open")


async def test_the_second_interval_of_a_day_is_kept(desk, make_console):
    with desk.db.session() as session:
        SettingsService(session, desk.clock).update(
            business_hours={"timezone": "UTC", "days": {"mon": [["09:00", "12:00"], ["13:00", "17:00"]]}})
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        editor = await _open_editor(app, pilot)
        _set(editor, "#start-mon", "08:00")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: _hours(desk).days["mon"][0][0] == "08:00", what="hours stored")
        assert _hours(desk).days == {"mon": [["08:00", "12:00"], ["13:00", "17:00"]]}


def test_summary_groups_equal_neighbouring_days():
    hours = BusinessHours(timezone="UTC", days={"mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]],
                                                "sat": [["10:00", "14:00"]]})
    assert hours_summary(hours) == "Mon–Tue 09:00–17:00; Sat 10:00–14:00 (UTC)"
    assert hours_summary(BusinessHours(timezone="UTC", days={})) == "closed every day (UTC)"


async def test_the_command_palette_offers_the_editor(desk, make_console):
    from tui.commands import palette_entries

    app = make_console()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen) and app.screen.data is not None)
        entries = {title: key for title, key, _callback in palette_entries(app.screen, app)}
        assert entries["Business hours"] == "^b"
        await pilot.click("#edit-hours")
        await wait_for(pilot, lambda: isinstance(app.screen, BusinessHoursScreen))

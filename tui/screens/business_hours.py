"""The business-hours editor: a switch and opening/closing times per weekday, a time zone, or "always open"."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cache
from typing import ClassVar

from babel import Locale, UnknownLocaleError
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, Static, Switch

from core.account_settings import WEEKDAYS, BusinessHours, validate_setting
from core.errors import InvalidInput
from tui.i18n import N_, _, current_language, error_text

DEFAULT_OPEN = ("09:00", "17:00")  # what a day switched on starts with when it had no hours


def _locale() -> Locale:
    try:
        return Locale.parse(current_language().replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def day_names(width: str = "wide") -> list[str]:
    """Monday..Sunday in the agent's language (Babel numbers the days from Monday = 0, as WEEKDAYS does)."""
    days = _locale().days["format"][width]
    return [str(days[index]) for index in range(7)]


@cache
def _time_zones() -> list[str]:
    from zoneinfo import available_timezones

    return sorted(available_timezones())


def hours_summary(hours: BusinessHours | None) -> str:
    """One line for the settings screen: "Mon–Fri 09:00–17:00 (Europe/Berlin)", or "always open"."""
    if hours is None:
        return _("always open")
    names = day_names("abbreviated")
    groups: list[tuple[int, int, list[list[str]]]] = []  # first day, last day, their (equal) intervals
    for index, day in enumerate(WEEKDAYS):
        intervals = hours.days.get(day) or []
        if not intervals:
            continue
        if groups and groups[-1][1] == index - 1 and groups[-1][2] == intervals:
            groups[-1] = (groups[-1][0], index, intervals)
        else:
            groups.append((index, index, intervals))
    if not groups:
        text = _("closed every day")
    else:
        parts = []
        for first, last, intervals in groups:
            days = names[first] if first == last else f"{names[first]}–{names[last]}"
            times = ", ".join(f"{start}–{end}" for start, end in intervals)
            parts.append(f"{days} {times}")
        text = "; ".join(parts)
    return f"{text} ({hours.timezone})"


@dataclass(frozen=True)
class HoursEdited:
    """The editor's result: the checked hours; None is "always open" (so it differs from cancelling)."""

    hours: BusinessHours | None


class BusinessHoursScreen(ModalScreen[HoursEdited | None]):
    """Edits business hours; dismisses with HoursEdited, or None when cancelled.

    Each day edits its first interval; further intervals of a day (possible in the stored JSON) are kept as
    they are while the day stays open.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", N_("Cancel"), id="hours.cancel"),
        Binding("ctrl+s", "save", N_("Save business hours"), id="hours.save"),
    ]

    def __init__(self, hours: BusinessHours | None, default_zone: str = "UTC") -> None:
        super().__init__()
        self.hours = hours
        self.default_zone = default_zone
        self.extra = {day: [list(i) for i in (hours.days.get(day) or [])[1:]] for day in WEEKDAYS} if hours \
            else {day: [] for day in WEEKDAYS}

    def compose(self) -> ComposeResult:
        hours = self.hours
        names = day_names()
        with Vertical(classes="dialog", id="hours-dialog"):
            yield Static(_("Business hours"), classes="question")
            with VerticalScroll():
                with Horizontal(classes="hours-row"):
                    yield Switch(value=hours is None, id="always-open")
                    yield Label(_("Always open"))
                with Horizontal(classes="hours-row", id="zone-row"):
                    yield Label(_("Time zone"), classes="hours-day")
                    yield Input(value=hours.timezone if hours else self.default_zone, id="zone",
                                suggester=SuggestFromList(_time_zones(), case_sensitive=False))
                for index, day in enumerate(WEEKDAYS):
                    intervals = (hours.days.get(day) or []) if hours else []
                    start, end = intervals[0] if intervals else DEFAULT_OPEN
                    with Horizontal(classes="hours-row day-row"):
                        yield Label(names[index], classes="hours-day", markup=False)
                        yield Switch(value=bool(intervals), id=f"open-{day}")
                        yield Input(value=start, id=f"start-{day}", classes="hours-time", max_length=5)
                        yield Static("–", classes="hours-dash")
                        yield Input(value=end, id=f"end-{day}", classes="hours-time", max_length=5)
                yield Static("", id="hours-error", classes="error", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(_("Save"), variant="primary", id="save")
                yield Button(_("Cancel"), id="cancel")

    def on_mount(self) -> None:
        self._show_enabled()
        self.query_one("#always-open", Switch).focus()

    @on(Switch.Changed)
    def _switched(self) -> None:
        self._show_enabled()

    def _show_enabled(self) -> None:
        """Times of a closed day, and everything under "always open", are greyed out (kept for switching back)."""
        always = self.query_one("#always-open", Switch).value
        self.query_one("#zone", Input).disabled = always
        for day in WEEKDAYS:
            switch = self.query_one(f"#open-{day}", Switch)
            switch.disabled = always
            for field in ("start", "end"):
                self.query_one(f"#{field}-{day}", Input).disabled = always or not switch.value

    def edited_hours(self) -> BusinessHours | None:
        """The hours as edited, checked by core's own validation; InvalidInput names what is wrong."""
        if self.query_one("#always-open", Switch).value:
            return None
        days: dict[str, list[list[str]]] = {}
        for day in WEEKDAYS:
            if self.query_one(f"#open-{day}", Switch).value:
                start = self.query_one(f"#start-{day}", Input).value.strip()
                end = self.query_one(f"#end-{day}", Input).value.strip()
                days[day] = [[start, end], *self.extra[day]]
        zone = self.query_one("#zone", Input).value.strip()  # empty: UTC, as core reads it
        return validate_setting("business_hours", dataclasses.asdict(BusinessHours(timezone=zone, days=days)))

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        try:
            hours = self.edited_hours()
        except InvalidInput as exc:
            self.query_one("#hours-error", Static).update(error_text(exc))
            return
        self.dismiss(HoursEdited(hours))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

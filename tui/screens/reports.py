"""The Reports screen (F4): the team's figures for today, 7 or 30 days beside sparklines and bars (core.reports)."""
from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Sparkline, Static, Tab, Tabs

from core.errors import ThreadlineError
from core.reports import PERIODS, Report, ReportService, time_zone
from tui.console_context import ConsoleContext
from tui.i18n import N_, _
from tui.screens.workers import ReportsWorkerFailures
from tui.widgets.key_bar import KeyBar

PERIOD_LABELS = {"today": N_("Today"), "7d": N_("7 days"), "30d": N_("30 days")}
BAR_WIDTH = 20
NARROW = 100


class ReportLoaded(Message):
    def __init__(self, generation: int, period: str, report: Report) -> None:
        super().__init__()
        self.generation = generation
        self.period = period
        self.report = report


def duration_label(seconds: float | None) -> str:
    """A duration as agents read it: 45 s, 12 min, 3 h 05 min, 2 d 4 h; a dash when there is none."""
    if seconds is None:
        return "–"
    seconds = round(seconds)
    if seconds < 60:
        return _("{count} s").format(count=seconds)
    minutes = seconds // 60
    if minutes < 60:
        return _("{count} min").format(count=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return _("{hours} h {minutes:02d} min").format(hours=hours, minutes=minutes)
    days, hours = divmod(hours, 24)
    return _("{days} d {hours} h").format(days=days, hours=hours)


def share_label(share: float | None) -> str:
    return "–" if share is None else f"{share:.0%}"


def bar(value: int, largest: int, style: str) -> Text:
    filled = round(BAR_WIDTH * value / largest) if largest else 0
    return Text.assemble(("█" * filled, style), ("░" * (BAR_WIDTH - filled), "dim"), f" {value}")


def figures_table(report: Report) -> Table:
    """The figures, one per row, with bars where two numbers are compared."""
    table = Table(show_header=False, box=None, padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    table.add_row(_("Conversations started"), Text(str(report.conversations_started)))
    table.add_row(_("Not answered yet"), Text(str(report.unanswered)))
    table.add_row(_("First response"), _("median {median} · 90% within {p90}").format(
        median=duration_label(report.first_response.median), p90=duration_label(report.first_response.p90)))
    table.add_row(_("Resolution"), _("median {median} · 90% within {p90} ({count} solved)").format(
        median=duration_label(report.resolution.median), p90=duration_label(report.resolution.p90),
        count=report.resolution.count))
    table.add_row(_("Conversations emailed"), Text(str(report.conversations_emailed)))
    table.add_row(_("Answered by email"), _("{count} ({share} of those emailed)").format(
        count=report.answered_by_email, share=share_label(report.share_answered_by_email)))
    largest = max(report.end_user_replies_by_email, report.end_user_replies_by_messaging)
    table.add_row(_("Replies by email"), bar(report.end_user_replies_by_email, largest, "yellow"))
    table.add_row(_("Replies by messaging"), bar(report.end_user_replies_by_messaging, largest, "green"))
    table.add_row(_("Unsubscribes"), Text(str(report.unsubscribes)))
    if report.satisfaction is not None:  # ratings exist (core.reports.satisfaction_figures)
        table.add_row(_("Satisfaction"), _("{good} good, {bad} bad ({share} good)").format(
            good=report.satisfaction.good, bad=report.satisfaction.bad,
            share=share_label(report.satisfaction.share_good)))
    return table


def busiest_label(report: Report) -> str:
    ranked = sorted(range(24), key=lambda hour: (-report.busiest_hours[hour], hour))
    top = [f"{hour:02d}:00" for hour in ranked[:3] if report.busiest_hours[hour]]
    return _("Busiest hours: {hours}").format(hours=", ".join(top) if top else "–")


class ReportsScreen(ReportsWorkerFailures, Screen):
    """Figures of one period at a time; 1, 2, 3 (or f) choose the period, r reads again."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "back", N_("Back"), id="reports.back"),
        Binding("1", "period('today')", N_("Today"), id="reports.today"),
        Binding("2", "period('7d')", N_("7 days"), id="reports.week"),
        Binding("3", "period('30d')", N_("30 days"), id="reports.month"),
        Binding("f", "next_period", N_("Next period"), show=False, id="reports.next"),
        Binding("r", "refresh", N_("Refresh"), id="reports.refresh"),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__()
        self.context = context
        self.period = "7d"
        self.generation = 0
        self.report: Report | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Tabs(*[Tab(_(PERIOD_LABELS[p]), id=f"period-{p}") for p in PERIODS], active="period-7d",
                   id="periods")
        with VerticalScroll(id="reports-body"):
            with Horizontal(id="reports-columns"):
                yield Static("", id="report-figures")
                with Vertical(id="report-charts"):
                    yield Static("", id="started-label", markup=False)
                    yield Sparkline([], id="started-sparkline")
                    yield Static("", id="hours-label", markup=False)
                    yield Sparkline([0] * 24, id="hours-sparkline")
                    yield Static("00    06    12    18  23", id="hours-axis", markup=False)  # one column per hour
        yield KeyBar()

    def on_mount(self) -> None:
        self._fit(self.app.size.width)
        self.reload()

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width)

    def _fit(self, width: int) -> None:
        # Below 100 columns the charts go under the figures, so neither is squeezed.
        self.query_one("#reports-columns").set_class(width < NARROW, "narrow")

    def on_screen_resume(self) -> None:
        if self.report is not None:
            self.reload()

    def reload(self) -> None:
        self.generation += 1
        self._load(self.generation, self.period)

    @work(thread=True, name="report-load", group="reports", exclusive=True, exit_on_error=False)
    def _load(self, generation: int, period: str) -> None:
        try:
            zone = time_zone(self.context.agent.timezone)
        except ThreadlineError:
            zone = time_zone(None)
        with self.context.db.read_session() as session:
            report = ReportService(session, self.context.clock).report(period, zone)
        self.post_message(ReportLoaded(generation, period, report))

    @on(ReportLoaded)
    def _loaded(self, message: ReportLoaded) -> None:
        message.stop()
        if message.generation != self.generation:
            return
        report = self.report = message.report
        self.query_one("#report-figures", Static).update(figures_table(report))
        per = _("per hour") if report.bucket == "hour" else _("per day")
        self.query_one("#started-label", Static).update(
            _("Conversations started, {per}").format(per=per))
        self.query_one("#started-sparkline", Sparkline).data = [float(n) for n in report.started_series]
        self.query_one("#hours-label", Static).update(busiest_label(report))
        self.query_one("#hours-sparkline", Sparkline).data = [float(n) for n in report.busiest_hours]

    @on(Tabs.TabActivated, "#periods")
    def _tab(self, event: Tabs.TabActivated) -> None:
        event.stop()
        period = (event.tab.id or "").removeprefix("period-")
        if period in PERIODS and period != self.period:
            self.period = period
            self.reload()

    def action_period(self, period: str) -> None:
        self.query_one("#periods", Tabs).active = f"period-{period}"

    def action_next_period(self) -> None:
        index = (PERIODS.index(self.period) + 1) % len(PERIODS)
        self.action_period(PERIODS[index])

    def action_refresh(self) -> None:
        self.reload()

    def action_back(self) -> None:
        self.app.pop_screen()

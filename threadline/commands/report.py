"""`threadline report [--since today|7d|30d|Nd|Nh] [--format text|json|csv] [--timezone ZONE]`: the Reports
screen's figures for scripts and spreadsheets."""
from __future__ import annotations

import argparse
import csv
import json
import sys

from core.i18n import _
from core.reports import Report, ReportService, report_dict, report_rows, time_zone
from threadline.context import AppContext


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "report", help=_("team figures for a period (as on the console's Reports screen, F4)"),
        description=_("Conversations started, first response and resolution times (median and 90th percentile), "
                      "conversations emailed and the share answered by email, end-user replies by email and by "
                      "messaging, unsubscribes and the busiest hours, for a period up to now."),
    )
    parser.add_argument("--since", default="7d", metavar="PERIOD",
                        help=_("today, a number of days (7d, 30d) or of hours (12h); default: 7d"))
    parser.add_argument("--format", default="text", choices=("text", "json", "csv"),
                        help=_("text (default), json, or csv with one metric per row"))
    parser.add_argument("--timezone", metavar="ZONE", default=None,
                        help=_("IANA time zone for 'today' and the busiest hours (default: UTC)"))
    return parser


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes = round(seconds / 60)
    if minutes >= 60:
        return _("{hours} h {minutes:02d} min").format(hours=minutes // 60, minutes=minutes % 60)
    return _("{count} min").format(count=minutes)


def _text(report: Report) -> str:
    share = report.share_answered_by_email
    busiest = sorted(range(24), key=lambda hour: (-report.busiest_hours[hour], hour))[:3]
    lines = [
        _("From {since} to {until} (UTC)").format(since=report.since.strftime("%Y-%m-%d %H:%M"),
                                                  until=report.until.strftime("%Y-%m-%d %H:%M")),
        _("Conversations started: {count} ({unanswered} not answered yet)").format(
            count=report.conversations_started, unanswered=report.unanswered),
        _("First response: median {median}, 90th percentile {p90} ({count} conversations)").format(
            median=_duration(report.first_response.median), p90=_duration(report.first_response.p90),
            count=report.first_response.count),
        _("Resolution: median {median}, 90th percentile {p90} ({count} solved)").format(
            median=_duration(report.resolution.median), p90=_duration(report.resolution.p90),
            count=report.resolution.count),
        _("Conversations emailed: {count}, answered by email: {answered} ({share})").format(
            count=report.conversations_emailed, answered=report.answered_by_email,
            share="–" if share is None else f"{share:.0%}"),
        _("End-user replies: {email} by email, {messaging} by messaging").format(
            email=report.end_user_replies_by_email, messaging=report.end_user_replies_by_messaging),
        _("Unsubscribes: {count}").format(count=report.unsubscribes),
        _("Busiest hours: {hours}").format(hours=", ".join(
            f"{hour:02d}:00 ({report.busiest_hours[hour]})" for hour in busiest if report.busiest_hours[hour])
            or "–"),
    ]
    if report.satisfaction is not None:
        good = report.satisfaction.share_good
        lines.append(_("Satisfaction: {good} good, {bad} bad ({share} good)").format(
            good=report.satisfaction.good, bad=report.satisfaction.bad,
            share="–" if good is None else f"{good:.0%}"))
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace, context: AppContext) -> int:
    zone = time_zone(args.timezone)
    with context.db.read_session() as session:
        report = ReportService(session, context.clock).report(args.since, zone)
    if args.format == "json":
        print(json.dumps(report_dict(report), indent=2))
    elif args.format == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(["metric", "value"])
        writer.writerows(report_rows(report))
    else:
        print(_text(report), end="")
    return 0

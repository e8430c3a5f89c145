"""Team figures for a period (today, 7 or 30 days): volume, first response and resolution times, email reach,
unsubscribes and busiest hours, read from conversations, messages, the outbox and the event log."""
from __future__ import annotations

import math
import statistics
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from core import ratings
from core.clock import Clock, as_utc
from core.errors import InvalidInput
from core.event_kinds import EventKind
from core.i18n import _
from core.inactivity import aggregate_time
from core.models import AuthorKind, Channel, Conversation, Event, Message, OutboxJob, OutboxStatus

PERIODS = ("today", "7d", "30d")


@dataclass(frozen=True)
class Durations:
    """Seconds of a duration measured over several conversations; None figures when there is none."""

    count: int
    median: float | None
    p90: float | None


@dataclass(frozen=True)
class Satisfaction:
    """End users' ratings in the period (see satisfaction_figures)."""

    good: int
    bad: int

    @property
    def share_good(self) -> float | None:
        total = self.good + self.bad
        return self.good / total if total else None


@dataclass(frozen=True)
class Report:
    since: datetime
    until: datetime
    conversations_started: int
    first_response: Durations   # conversation start -> first agent message, for conversations started in the period
    unanswered: int             # started in the period, no agent message yet
    resolution: Durations       # conversation start -> solved, for conversations solved in the period
    conversations_emailed: int  # conversations with a notification email sent in the period
    answered_by_email: int      # ... of which the end user answered by email after that email
    end_user_replies_by_email: int
    end_user_replies_by_messaging: int
    unsubscribes: int
    busiest_hours: list[int]    # end-user messages per hour of day (0-23) in the report's time zone
    started_series: list[int] = field(default_factory=list)  # conversations started per bucket (hour or day)
    bucket: str = "day"         # "hour" (today) or "day"
    satisfaction: Satisfaction | None = None  # None: no ratings recorded (yet)

    @property
    def share_answered_by_email(self) -> float | None:
        return self.answered_by_email / self.conversations_emailed if self.conversations_emailed else None


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (share 0.9: the value 90 % of the values are at or below); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def durations(values: list[float]) -> Durations:
    return Durations(len(values), statistics.median(values) if values else None, percentile(values, 0.9))


def period_start(period: str, now: datetime, zone: tzinfo = UTC) -> datetime:
    """The start of a period: "today" (midnight in zone), "Nd" (N days ago) or "Nh" (N hours ago)."""
    period = (period or "").strip().lower()
    if period == "today":
        local = now.astimezone(zone)
        return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    number, unit = period[:-1], period[-1:]
    if number.isdigit() and int(number) > 0 and unit in ("d", "h"):
        return now - (timedelta(days=int(number)) if unit == "d" else timedelta(hours=int(number)))
    raise InvalidInput(_("Unknown period {period!r}; use today, a number of days (7d) or of hours (12h).").format(
        period=period))


def time_zone(name: str | None) -> tzinfo:
    if not name:
        return UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(_("Unknown time zone {zone!r}; give an IANA name such as Europe/Berlin.").format(
            zone=name)) from None


def satisfaction_figures(session: Session, since: datetime, until: datetime) -> Satisfaction | None:
    """The period's satisfaction ratings (core.ratings: a changed rating counts once), or None while none exist."""
    figures = ratings.satisfaction_figures(session, since, until)
    if figures.good + figures.bad == 0:
        return None
    return Satisfaction(good=figures.good, bad=figures.bad)


class ReportService:
    """Reads the figures of one period; reading only, no transaction of its own."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def report(self, period: str = "7d", zone: tzinfo = UTC) -> Report:
        now = self.clock.now()
        period = (period or "").strip().lower()
        return self.between(period_start(period, now, zone), now, zone, bucket="hour" if period == "today" else "day")

    def between(self, since: datetime, until: datetime, zone: tzinfo = UTC, *, bucket: str = "day") -> Report:
        since, until = as_utc(since), as_utc(until)
        started = self._started(since, until)
        first_replies = self._first_agent_replies([cid for cid, _at in started])
        response = [(first_replies[cid] - at).total_seconds() for cid, at in started if cid in first_replies]
        emailed = self._emailed(since, until)
        by_email, by_messaging, hours = self._end_user_messages(since, until, zone)
        return Report(
            since=since, until=until,
            conversations_started=len(started),
            first_response=durations([max(0.0, s) for s in response]),
            unanswered=len(started) - len(response),
            resolution=durations(self._resolutions(since, until)),
            conversations_emailed=len(emailed),
            answered_by_email=self._answered_by_email(emailed, until),
            end_user_replies_by_email=by_email, end_user_replies_by_messaging=by_messaging,
            unsubscribes=self._count_events(EventKind.email_opted_out, since, until),
            busiest_hours=hours,
            started_series=_series([at for _cid, at in started], since, until, bucket),
            bucket=bucket,
            satisfaction=satisfaction_figures(self.session, since, until),
        )

    def _started(self, since: datetime, until: datetime) -> list[tuple[int, datetime]]:
        rows = self.session.exec(select(Conversation.id, Conversation.created_at).where(
            col(Conversation.created_at) >= since, col(Conversation.created_at) < until))
        return [(cid, as_utc(at)) for cid, at in rows if cid is not None]

    def _first_agent_replies(self, conversation_ids: list[int]) -> dict[int, datetime]:
        found: dict[int, datetime] = {}
        for chunk in _chunks(conversation_ids):
            rows = self.session.exec(
                select(Message.conversation_id, func.min(Message.created_at))
                .where(col(Message.conversation_id).in_(chunk), Message.author_kind == AuthorKind.agent)
                .group_by(col(Message.conversation_id)))
            found.update({cid: aggregate_time(at) for cid, at in rows if at is not None})
        return found

    def _resolutions(self, since: datetime, until: datetime) -> list[float]:
        """Start to solve, for each conversation solved in the period (its last solve there)."""
        solved: dict[int, datetime] = {}
        events = self.session.exec(select(Event).where(
            Event.kind == EventKind.conversation_status.value, col(Event.created_at) >= since,
            col(Event.created_at) < until, col(Event.conversation_id).is_not(None)).order_by(col(Event.id)))
        for event in events:
            if (event.payload or {}).get("status") == "solved" and event.conversation_id is not None:
                solved[event.conversation_id] = as_utc(event.created_at)
        starts: dict[int, datetime] = {}
        for chunk in _chunks(list(solved)):
            starts.update({cid: as_utc(at) for cid, at in self.session.exec(
                select(Conversation.id, Conversation.created_at).where(col(Conversation.id).in_(chunk)))
                if cid is not None})
        return [max(0.0, (at - starts[cid]).total_seconds()) for cid, at in solved.items() if cid in starts]

    def _emailed(self, since: datetime, until: datetime) -> dict[int, datetime]:
        """Conversations with a notification sent in the period, and when the first of those went out."""
        rows = self.session.exec(
            select(OutboxJob.conversation_id, func.min(OutboxJob.sent_at))
            .where(OutboxJob.status == OutboxStatus.sent, col(OutboxJob.sent_at) >= since,
                   col(OutboxJob.sent_at) < until, col(OutboxJob.conversation_id).is_not(None))
            .group_by(col(OutboxJob.conversation_id)))
        return {cid: aggregate_time(at) for cid, at in rows if cid is not None and at is not None}

    def _answered_by_email(self, emailed: dict[int, datetime], until: datetime) -> int:
        answered = 0
        for chunk in _chunks(list(emailed)):
            rows = self.session.exec(
                select(Message.conversation_id, func.max(Message.created_at))
                .where(col(Message.conversation_id).in_(chunk), Message.author_kind == AuthorKind.end_user,
                       Message.channel == Channel.email, col(Message.created_at) < until)
                .group_by(col(Message.conversation_id)))
            answered += sum(1 for cid, at in rows if at is not None and aggregate_time(at) > emailed[cid])
        return answered

    def _end_user_messages(self, since: datetime, until: datetime, zone: tzinfo) -> tuple[int, int, list[int]]:
        hours = [0] * 24
        by_channel = {Channel.email: 0, Channel.messaging: 0}
        rows = self.session.exec(select(Message.channel, Message.created_at).where(
            Message.author_kind == AuthorKind.end_user, col(Message.created_at) >= since,
            col(Message.created_at) < until))
        for channel, at in rows:
            if Channel(channel) in by_channel:
                by_channel[Channel(channel)] += 1
            hours[as_utc(at).astimezone(zone).hour] += 1
        return by_channel[Channel.email], by_channel[Channel.messaging], hours

    def _count_events(self, kind: EventKind, since: datetime, until: datetime) -> int:
        return int(self.session.exec(select(func.count()).select_from(Event).where(
            Event.kind == kind.value, col(Event.created_at) >= since, col(Event.created_at) < until)).one())


def _series(times: list[datetime], since: datetime, until: datetime, bucket: str) -> list[int]:
    """How many of times fall in each hour (bucket "hour") or day counted from `since` (for "today" that is
    midnight in the report's time zone)."""
    step = timedelta(hours=1) if bucket == "hour" else timedelta(days=1)
    count = max(1, math.ceil((until - since) / step))
    series = [0] * count
    for at in times:
        index = int((at - since) / step)
        if 0 <= index < count:
            series[index] += 1
    return series


def _chunks(ids: list[int], size: int = 500) -> list[list[int]]:
    return [ids[start:start + size] for start in range(0, len(ids), size)]


def report_dict(report: Report) -> dict[str, Any]:
    """The report as plain values (JSON): times in seconds, shares from 0 to 1, None where there is no figure."""
    result: dict[str, Any] = {
        "since": report.since.isoformat(), "until": report.until.isoformat(),
        "conversations_started": report.conversations_started,
        "first_response_seconds": {"count": report.first_response.count, "median": report.first_response.median,
                                   "p90": report.first_response.p90},
        "unanswered": report.unanswered,
        "resolution_seconds": {"count": report.resolution.count, "median": report.resolution.median,
                               "p90": report.resolution.p90},
        "conversations_emailed": report.conversations_emailed,
        "answered_by_email": report.answered_by_email,
        "share_answered_by_email": report.share_answered_by_email,
        "end_user_replies": {"email": report.end_user_replies_by_email,
                             "messaging": report.end_user_replies_by_messaging},
        "unsubscribes": report.unsubscribes,
        "busiest_hours": report.busiest_hours,
        "started_per_" + report.bucket: report.started_series,
    }
    if report.satisfaction is not None:
        result["satisfaction"] = {"good": report.satisfaction.good, "bad": report.satisfaction.bad,
                                  "share_good": report.satisfaction.share_good}
    return result


def report_rows(report: Report) -> list[tuple[str, Any]]:
    """The report as (metric, value) rows (CSV): nested figures get dotted names, lists one row per element."""
    rows: list[tuple[str, Any]] = []

    def add(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                add(f"{prefix}.{key}" if prefix else key, inner)
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                add(f"{prefix}.{index:02d}", inner)
        else:
            rows.append((prefix, "" if value is None else value))

    add("", report_dict(report))
    return rows

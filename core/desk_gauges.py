"""The desk's state as numbers for monitoring (read at scrape time, so every process reports the same values)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.events import EventLog
from core.models import Conversation, ConversationStatus, EmailOptOut, OutboxJob, OutboxStatus


@dataclass(frozen=True)
class DeskGauges:
    conversations_waiting: int  # open or queued, the end user waiting for an answer
    oldest_wait_seconds: float  # how long the longest of them has waited (0 when none)
    notifications_due: int  # conversations whose notification is due and not yet claimed into the outbox
    outbox_jobs: dict[str, int] = field(default_factory=dict)  # by status, every status present
    email_opt_outs: int = 0  # addresses that stopped notification emails (unsubscribed)
    latest_event_id: int = 0


def read_desk_gauges(session: Session, now: datetime) -> DeskGauges:
    """A handful of indexed counts; cheap enough for a scrape every 15 s."""
    waiting = (col(Conversation.status).in_([ConversationStatus.queued, ConversationStatus.open])
               & col(Conversation.waiting_since).is_not(None))
    count, oldest = session.exec(select(func.count(), func.min(Conversation.waiting_since)).where(waiting)).one()
    due = session.exec(select(func.count()).select_from(Conversation)
                       .where(col(Conversation.notify_due_at) <= now)).one()
    jobs = {status.value: 0 for status in OutboxStatus}
    for status, number in session.exec(select(OutboxJob.status, func.count()).group_by(col(OutboxJob.status))):
        jobs[OutboxStatus(status).value] = int(number)
    opt_outs = session.exec(select(func.count()).select_from(EmailOptOut)).one()
    oldest_wait = max(0.0, (now - _aware(oldest, now)).total_seconds()) if oldest is not None else 0.0
    return DeskGauges(conversations_waiting=int(count), oldest_wait_seconds=oldest_wait, notifications_due=int(due),
                      outbox_jobs=jobs, email_opt_outs=int(opt_outs), latest_event_id=EventLog(session).latest_id())


def _aware(moment: datetime, now: datetime) -> datetime:
    # An aggregate (min) comes back without the column type's conversion on some drivers: naive values are UTC.
    return moment.replace(tzinfo=now.tzinfo) if moment.tzinfo is None and now.tzinfo is not None else moment

"""The outbox of emails to send: leasing jobs to workers, recording sends, retries, failures and bounces."""
from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, func
from sqlmodel import Session, col, or_, select

from core.clock import Clock
from core.errors import InvalidTransition, NotFound
from core.event_kinds import EventKind
from core.events import record_event
from core.i18n import _
from core.models import Conversation, EndUser, OutboxJob, OutboxStatus
from core.transactions import transactional

# Temporary failures back off from about BASE_DELAY seconds, doubling up to MAX_DELAY, and give up after
# MAX_ATTEMPTS (the job then shows as failed to agents, who can retry it).
BASE_DELAY_SECONDS = 30.0
MAX_DELAY_SECONDS = 3600.0
MAX_ATTEMPTS = 15
MAX_ERROR_CHARS = 2000
THREADING_LIMIT = 20  # References grows with every notification; the newest ones are enough to thread


@dataclass(frozen=True)
class SendOutcome:
    """What happened to one leased job: sent, failed for good, or to retry (status pending).

    release: the server or our account failed, not this email; the job goes back as it was (see release()).
    """

    job_id: int
    status: OutboxStatus
    detail: str | None = None
    delay: float | None = None
    release: bool = False


def backoff_delay(attempts: int, rng: Callable[[], float] = random.random,
                  base: float = BASE_DELAY_SECONDS, cap: float = MAX_DELAY_SECONDS) -> float:
    """Seconds to wait after the attempts-th failure: exponential with "equal jitter".

    Half the window is fixed and half random, so delays never shrink from one attempt to the next
    while workers retrying after one outage still spread out.
    """
    window = min(cap, base * (2 ** max(0, attempts - 1)))
    return float(window / 2 + rng() * window / 2)


def bare_message_id(message_id: str) -> str:
    """A Message-ID without its angle brackets and surrounding space."""
    return (message_id or "").strip().strip("<>").strip()


def notification_message_id(reply_token: str, domain: str) -> str:
    """The one Message-ID form of our emails: `<tl.REPLY_TOKEN.RANDOM@domain>`.

    The conversation's reply token inside lets a reply that drops Reply-To and our outbox row still thread
    (mail/threading.py reads it back); the random part keeps every email's id unique.
    """
    return f"<tl.{reply_token}.{secrets.token_hex(8)}@{domain}>"


class OutboxService:
    """Plain service over one session; each state-changing method is one transaction and one event."""

    def __init__(self, session: Session, clock: Clock, rng: Callable[[], float] = random.random) -> None:
        self.session = session
        self.clock = clock
        self.rng = rng

    # --- lookups -------------------------------------------------------------------------------
    def get(self, job_id: int, *, lock: bool = False) -> OutboxJob:
        if lock and self.session.info.get("threadline_depth", 0) > 1:
            # Inside record_outcomes, which read and locked the whole batch already.
            job = self.session.get(OutboxJob, job_id)
            if job is not None:
                return job
        query = select(OutboxJob).where(OutboxJob.id == job_id)
        if lock:
            query = query.with_for_update()
        job = self.session.exec(query.execution_options(populate_existing=True)).first()
        if job is None:
            raise NotFound(_("There is no outbox job with id {id}.").format(id=job_id))
        return job

    def by_message_id(self, message_id: str) -> OutboxJob | None:
        bare = bare_message_id(message_id)
        if not bare:
            return None
        return self.session.exec(
            select(OutboxJob).where(col(OutboxJob.message_id).in_([bare, f"<{bare}>"]))
        ).first()

    def failed_jobs(self, limit: int = 100) -> list[OutboxJob]:
        """Jobs that need an agent's eye: failed for good or bounced, newest first."""
        query = (select(OutboxJob)
                 .where(col(OutboxJob.status).in_([OutboxStatus.failed, OutboxStatus.bounced]))
                 .order_by(col(OutboxJob.id).desc()).limit(limit))
        return list(self.session.exec(query))

    def sent_message_ids_for(self, conversation_id: int, before_job_id: int | None = None) -> list[str]:
        """Message-IDs (with angle brackets) of emails already sent for a conversation, oldest first."""
        query = select(OutboxJob.message_id).where(
            OutboxJob.conversation_id == conversation_id, OutboxJob.status == OutboxStatus.sent)
        if before_job_id is not None:
            query = query.where(col(OutboxJob.id) < before_job_id)
        ids = list(self.session.exec(query.order_by(col(OutboxJob.id).desc()).limit(THREADING_LIMIT)))
        return [f"<{bare_message_id(mid)}>" for mid in reversed(ids)]

    def next_attempt_at(self) -> datetime | None:
        """When the earliest pending job can next be leased: its retry time, or later if a lease still holds it."""
        ready = case((col(OutboxJob.locked_until) > col(OutboxJob.next_attempt_at), col(OutboxJob.locked_until)),
                     else_=col(OutboxJob.next_attempt_at))
        query = select(func.min(ready)).where(OutboxJob.status == OutboxStatus.pending)
        value = self.session.exec(query).first()
        if isinstance(value, str):  # SQLite returns a computed datetime as text
            value = datetime.fromisoformat(value)
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    # --- workers ---------------------------------------------------------------------------------
    @transactional
    def lease(self, worker: str, limit: int, lease_seconds: float) -> list[OutboxJob]:
        """Hand up to limit due jobs to worker until their lease ends; each lease counts as one attempt.

        A job whose worker died mid-send comes back when the lease ends and is sent again with the same
        Message-ID, so at most one duplicate reaches the end user and mail clients merge it.
        """
        now = self.clock.now()
        query = (
            select(OutboxJob)
            .where(OutboxJob.status == OutboxStatus.pending, OutboxJob.next_attempt_at <= now,
                   or_(col(OutboxJob.locked_until).is_(None), col(OutboxJob.locked_until) <= now))
            .order_by(col(OutboxJob.next_attempt_at), col(OutboxJob.id))
            .limit(limit)
        )
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        jobs = list(self.session.exec(query.execution_options(populate_existing=True)))
        until = now + timedelta(seconds=lease_seconds)
        for job in jobs:
            job.locked_until = until
            job.locked_by = worker[:128]
            job.attempts += 1
            self.session.add(job)
        if jobs:
            # One event per lease, not per job: a batch of 200 is one line in the log.
            record_event(self.session, now, EventKind.notification_leased, None, worker=worker[:128],
                         job_ids=[job.id for job in jobs], until=until.isoformat())
        self.session.flush()
        return jobs

    @transactional
    def mark_sent(self, job_id: int, response: str | None = None) -> OutboxJob:
        """Record a successful send; recording twice (a re-send after a lost lease) changes nothing."""
        job = self.get(job_id, lock=True)
        if job.status is OutboxStatus.sent:
            return job
        now = self.clock.now()
        job.status = OutboxStatus.sent
        job.sent_at = now
        job.locked_until = None
        job.last_error = None
        self.session.add(job)
        record_event(self.session, now, EventKind.notification_sent, job.conversation_id, job_id=job.id,
                     message_id=job.message_id, to=job.to_address, attempts=job.attempts,
                     response=_clip(response) if response else None)
        return job

    @transactional
    def mark_retry(self, job_id: int, error: str, delay: float | None = None) -> OutboxJob:
        """A temporary failure: try again after delay seconds (backoff with jitter when not given)."""
        job = self.get(job_id, lock=True)
        if job.status is not OutboxStatus.pending:
            return job
        if job.attempts >= MAX_ATTEMPTS:
            return self._fail(job, _("Gave up after {count} attempts; the last error was: {error}").format(
                count=job.attempts, error=_clip(error)))
        now = self.clock.now()
        if delay is None:
            delay = backoff_delay(job.attempts, self.rng)
        job.next_attempt_at = now + timedelta(seconds=delay)
        job.locked_until = None
        job.last_error = _clip(error)
        self.session.add(job)
        record_event(self.session, now, EventKind.notification_retry_scheduled, job.conversation_id, job_id=job.id,
                     attempts=job.attempts, delay_seconds=round(delay, 3), error=job.last_error)
        return job

    @transactional
    def release(self, job_ids: list[int], reason: str) -> list[OutboxJob]:
        """Give leased jobs back untouched by a server-wide failure (the sender pauses instead).

        The failure says nothing about these emails, so the lease's attempt is taken back (MAX_ATTEMPTS never
        fails them for it) and they stay due at their old time and order; the reason shows while they wait.
        """
        now = self.clock.now()
        released = []
        for job_id in job_ids:
            job = self.get(job_id, lock=True)
            if job.status is not OutboxStatus.pending:
                continue
            job.attempts = max(0, job.attempts - 1)
            job.locked_until = None
            job.last_error = _clip(reason)
            self.session.add(job)
            released.append(job)
        if released:
            # One event per release, like lease: a paused batch of 200 is one line in the log.
            record_event(self.session, now, EventKind.notification_released, None, job_ids=[job.id for job in released],
                         reason=_clip(reason))
        return released

    @transactional
    def mark_failed(self, job_id: int, reason: str) -> OutboxJob:
        """A permanent failure: the job stops and the reason stays for agents to read."""
        job = self.get(job_id, lock=True)
        if job.status is not OutboxStatus.pending:
            return job
        return self._fail(job, reason)

    def _fail(self, job: OutboxJob, reason: str) -> OutboxJob:
        now = self.clock.now()
        job.status = OutboxStatus.failed
        job.locked_until = None
        job.last_error = _clip(reason)
        self.session.add(job)
        record_event(self.session, now, EventKind.notification_failed, job.conversation_id, job_id=job.id,
                     message_id=job.message_id, to=job.to_address, reason=job.last_error)
        return job

    @transactional
    def mark_bounced(self, message_id_or_job_id: str | int, reason: str) -> OutboxJob:
        """A delivery report said the email did not arrive: the job and the end user's address are marked."""
        if isinstance(message_id_or_job_id, int):
            job = self.get(message_id_or_job_id, lock=True)
        else:
            found = self.by_message_id(message_id_or_job_id)
            if found is None:
                raise NotFound(_("No email with Message-ID {id} was sent from this outbox.").format(
                    id=message_id_or_job_id))
            job = found
        now = self.clock.now()
        job.status = OutboxStatus.bounced
        job.locked_until = None
        job.last_error = _clip(reason)
        self.session.add(job)
        end_user = self._end_user_of(job)
        if end_user is not None and (end_user.email or "").lower() == job.to_address.lower():
            end_user.email_failing = True
            self.session.add(end_user)
        record_event(self.session, now, EventKind.notification_bounced, job.conversation_id, job_id=job.id,
                     message_id=job.message_id, to=job.to_address, reason=job.last_error,
                     end_user_id=end_user.id if end_user else None)
        return job

    @transactional
    def retry(self, job_id: int) -> OutboxJob:
        """An agent asks to send a failed or bounced email again, now."""
        job = self.get(job_id, lock=True)
        if job.status not in (OutboxStatus.failed, OutboxStatus.bounced):
            raise InvalidTransition(_("Only a failed or bounced email can be retried; this one is {status}.").format(
                status=job.status.value))
        now = self.clock.now()
        previous = job.status
        job.status = OutboxStatus.pending
        job.attempts = 0
        job.next_attempt_at = now
        job.locked_until = None
        job.locked_by = None
        self.session.add(job)
        record_event(self.session, now, EventKind.notification_retried, job.conversation_id, job_id=job.id,
                     previous=previous.value)
        return job

    @transactional
    def record_outcomes(self, outcomes: list[SendOutcome]) -> None:
        """Record a batch of send results in one transaction (one commit, one read of the jobs, for many emails)."""
        ids = [outcome.job_id for outcome in outcomes]
        query = select(OutboxJob).where(col(OutboxJob.id).in_(ids))
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        # Held here: the session's identity map keeps objects only while someone references them.
        loaded = list(self.session.exec(query.execution_options(populate_existing=True)))
        released: dict[str, list[int]] = {}
        for outcome in outcomes:
            if outcome.release:
                released.setdefault(outcome.detail or "", []).append(outcome.job_id)
            elif outcome.status is OutboxStatus.sent:
                self.mark_sent(outcome.job_id, outcome.detail)
            elif outcome.status is OutboxStatus.failed:
                self.mark_failed(outcome.job_id, outcome.detail or "")
            else:
                self.mark_retry(outcome.job_id, outcome.detail or "", outcome.delay)
        for reason, job_ids in released.items():
            self.release(job_ids, reason)
        del loaded

    def _end_user_of(self, job: OutboxJob) -> EndUser | None:
        if job.conversation_id is None:
            return None
        conversation = self.session.get(Conversation, job.conversation_id)
        return self.session.get(EndUser, conversation.end_user_id) if conversation else None


def _clip(text: str | None) -> str:
    text = str(text or "")
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS - 1] + "…"

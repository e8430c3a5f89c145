"""Notification scheduling: finding due conversations (O(due)) and claiming each batch into exactly one outbox job."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import func, text
from sqlmodel import Session, col, select

from core.account_settings import AccountSettings, load_settings
from core.clock import Clock, as_utc
from core.db import is_postgresql
from core.event_kinds import EventKind
from core.events import record_event
from core.inactivity import PendingBatch, aggregate_time, due_time, pending_batch, pending_floor_expression
from core.models import AuthorKind, Conversation, EndUser, Message, OutboxJob, OutboxStatus, VerifiedAddress, row_id
from core.opt_outs import OptOutService
from core.outbox import notification_message_id
from core.tokens import TokenSigner
from core.transactions import transactional

log = logging.getLogger(__name__)
T = TypeVar("T")

UNVERIFIED_WINDOW = timedelta(hours=24)
DEFAULT_UNVERIFIED_DAILY_LIMIT = 3


def idempotency_key(conversation_id: int, last_seq: int) -> str:
    return f"notify:{conversation_id}:{last_seq}"


class NotificationService:
    """Turns due conversations into notification jobs; each claim moves notified_seq in the job's transaction."""

    def __init__(self, session: Session, clock: Clock, *, signer: TokenSigner | None = None,
                 message_id_domain: str = "", unverified_daily_limit: int = DEFAULT_UNVERIFIED_DAILY_LIMIT) -> None:
        self.session = session
        self.clock = clock
        self.signer = signer
        self.message_id_domain = message_id_domain
        self.unverified_daily_limit = unverified_daily_limit

    # --- finding due work (reads; one indexed range on notify_due_at) ---------------------------------------
    def due(self, now: datetime | None = None, limit: int = 100) -> list[int]:
        """Ids of conversations whose notification is due at now, earliest first."""
        now = as_utc(now) if now is not None else self.clock.now()
        query = (select(Conversation.id).where(col(Conversation.notify_due_at) <= now)
                 .order_by(col(Conversation.notify_due_at)).limit(limit))
        return self._read(
            lambda: [row_id_value for row_id_value in self.session.exec(query) if row_id_value is not None]
        )

    def next_due_at(self) -> datetime | None:
        """The earliest due time, for a scheduler to sleep until (or until a wake-up)."""
        query = (select(Conversation.notify_due_at).where(col(Conversation.notify_due_at).is_not(None))
                 .order_by(col(Conversation.notify_due_at)).limit(1))
        return self._read(lambda: self.session.exec(query).first())

    def _read(self, run: Callable[[], T]) -> T:
        # A lone read must not keep a (write-locking) transaction open for the caller; inside one it joins.
        started_here = not self.session.in_transaction() and not self.session.info.get("threadline_depth", 0)
        result = run()
        if started_here and not (self.session.new or self.session.dirty or self.session.deleted):
            self.session.commit()  # ends the read; never the caller's unsaved changes
        return result

    # --- claiming ---------------------------------------------------------------------------------------------
    @transactional
    def claim(self, conversation_id: int, worker: str = "") -> OutboxJob | None:
        """One notification job for the conversation's due batch, or None when it is not (or no longer) due."""
        jobs = self._claim_ids([conversation_id], worker, skip_locked=False)
        return jobs[0] if jobs else None

    @transactional
    def claim_due(self, limit: int = 100, worker: str = "") -> list[OutboxJob]:
        """Claim up to limit due conversations in one transaction; another worker skips rows this one holds."""
        ids = self.due(limit=limit)
        if not ids:
            return []
        return self._claim_ids(ids, worker, skip_locked=True)

    def _claim_ids(self, ids: list[int], worker: str, *, skip_locked: bool) -> list[OutboxJob]:
        now = self.clock.now()
        query = select(Conversation).where(col(Conversation.id).in_(ids)).order_by(col(Conversation.id))
        if is_postgresql(self.session.get_bind()):
            query = query.with_for_update(skip_locked=skip_locked)
        # SQLite: the writing session began with BEGIN IMMEDIATE, so no other writer runs until commit.
        conversations = list(self.session.exec(query.execution_options(populate_existing=True)))
        conversations = [c for c in conversations if c.notify_due_at is not None and c.notify_due_at <= now]
        if not conversations:
            return []
        settings = load_settings(self.session)
        end_users = {row_id(u): u for u in self.session.exec(
            select(EndUser).where(col(EndUser.id).in_({c.end_user_id for c in conversations})))}
        batches = self._pending_batches(conversations)
        domain = self._domain(settings)
        proven = self._proven_addresses(set(end_users))
        unproven = {c.notify_email for c in conversations
                    if c.notify_email and c.notify_email.lower() not in proven.get(c.end_user_id, set())}
        quota = _AddressQuota(self.session, now, self.unverified_daily_limit, unproven)
        stopped = OptOutService(self.session, self.clock).stopped_among(
            {c.notify_email for c in conversations if c.notify_email})
        jobs: list[OutboxJob] = []
        for conversation in conversations:
            end_user = end_users.get(conversation.end_user_id)
            batch = batches.get(row_id(conversation))
            due = due_time(conversation, end_user, batch, settings)
            if due is None or due > now:
                # The state moved on since the due time was stored (e.g. read, or present again): fix it.
                conversation.notify_due_at = due
                self.session.add(conversation)
                continue
            if end_user is None or batch is None or conversation.notify_email is None:
                raise RuntimeError(f"conversation {conversation.id} is due without an end user, a pending batch "
                                   "or an address to notify")
            address = conversation.notify_email
            if address.lower() in stopped:
                self._suppress(conversation, batch, now)
                continue
            if address.lower() not in proven.get(row_id(end_user), set()):
                free_at = quota.take(address)
                if free_at is not None:
                    self._defer(conversation, now, free_at)
                    continue
            jobs.append(self._create_job(conversation, end_user, address, batch, settings, domain, worker, now))
        self.session.flush()
        return jobs

    def _create_job(self, conversation: Conversation, end_user: EndUser, address: str, batch: PendingBatch,
                    settings: AccountSettings, domain: str, worker: str, now: datetime) -> OutboxJob:
        key = idempotency_key(row_id(conversation), batch.last_seq)
        job = OutboxJob(
            kind="notification", conversation_id=conversation.id, idempotency_key=key,
            first_seq=batch.first_seq, last_seq=batch.last_seq, to_address=address, address_key=address.lower(),
            # The raw preference; the mail composer negotiates it against the catalogs.
            language=end_user.language or conversation.language or settings.default_language,
            message_id=notification_message_id(self._reply_token(conversation), domain),
            status=OutboxStatus.pending, next_attempt_at=now, created_at=now,
            payload={"claimed_by": worker} if worker else None,
        )
        self.session.add(job)
        conversation.notified_seq = batch.last_seq
        # Everything pending went into this batch, so nothing more is due until the next agent message.
        conversation.notify_due_at = None
        self.session.add(conversation)
        record_event(self.session, now, EventKind.notification_queued, conversation.id, idempotency_key=key,
                     first_seq=batch.first_seq, last_seq=batch.last_seq, notified_seq=batch.last_seq)
        return job

    def _suppress(self, conversation: Conversation, batch: PendingBatch, now: datetime) -> None:
        """The address stopped notifications: no job, and the batch counts as handled, so lifting the stop later
        never emails these old messages (the widget still shows them)."""
        conversation.notified_seq = batch.last_seq
        conversation.notify_due_at = None
        self.session.add(conversation)
        record_event(self.session, now, EventKind.notification_suppressed, conversation.id, reason="opted_out",
                     first_seq=batch.first_seq, last_seq=batch.last_seq)

    def _defer(self, conversation: Conversation, now: datetime, until: datetime) -> None:
        """Too many notifications to an unproven address today: wait until the 24-hour window frees a slot."""
        conversation.notify_due_at = max(until, now + timedelta(seconds=1))
        self.session.add(conversation)
        log.info("notification for conversation %s deferred until %s: unverified address at its daily limit",
                 conversation.id, conversation.notify_due_at.isoformat())
        record_event(self.session, now, EventKind.notification_deferred, conversation.id,
                     reason="unverified_daily_limit", until=conversation.notify_due_at.isoformat())

    def _pending_batches(self, conversations: list[Conversation]) -> dict[int, PendingBatch]:
        """Every conversation's pending batch in one grouped query (the claim loop's main cost otherwise)."""
        if len(conversations) == 1:
            batch = pending_batch(self.session, conversations[0])
            return {row_id(conversations[0]): batch} if batch else {}
        rows = self.session.exec(
            select(Message.conversation_id, func.min(Message.seq), func.max(Message.seq), func.min(Message.created_at))
            .join(Conversation, col(Conversation.id) == Message.conversation_id)
            .where(col(Message.conversation_id).in_([c.id for c in conversations]),
                   Message.seq > pending_floor_expression(),
                   Message.author_kind == AuthorKind.agent, Message.email_fallback == True)  # noqa: E712
            .group_by(col(Message.conversation_id))
        )
        found = {}
        for conversation_id, first_seq, last_seq, oldest in rows:
            found[conversation_id] = PendingBatch(int(first_seq), int(last_seq), aggregate_time(oldest))
        return found

    def _proven_addresses(self, end_user_ids: set[int]) -> dict[int, set[str]]:
        """Each end user's proven addresses, lowercased, in one query for the whole batch."""
        found: dict[int, set[str]] = {}
        rows = self.session.exec(select(VerifiedAddress.end_user_id, VerifiedAddress.address)
                                 .where(col(VerifiedAddress.end_user_id).in_(end_user_ids)))
        for end_user_id, address in rows:
            found.setdefault(end_user_id, set()).add(address.lower())
        return found

    def _reply_token(self, conversation: Conversation) -> str:
        if self.signer is not None:
            return self.signer.reply_token(row_id(conversation))
        return f"c{conversation.id}"  # without a signer (tests, benches) the id alone keeps Message-IDs unique

    def _domain(self, settings: AccountSettings) -> str:
        return self.message_id_domain or settings.support_address.rpartition("@")[2] or "threadline.invalid"


class _AddressQuota:
    """The daily cap on notifications to unproven addresses, counted per address across end users and processes.

    Counted from the outbox in the claim's transaction. On SQLite that transaction holds the write lock; on
    PostgreSQL an advisory lock per address serializes claims for one address, so two workers claiming for two
    end users who typed the same address cannot both take the last slot.
    """

    def __init__(self, session: Session, now: datetime, limit: int, addresses: set[str]) -> None:
        """Count the recent jobs of every unproven address the batch may email, in one query."""
        self.session = session
        self.now = now
        self.limit = limit
        keys = sorted({address.lower() for address in addresses})
        self.counted: dict[str, list[datetime]] = {key: [] for key in keys}
        if not keys:
            return
        if is_postgresql(session.get_bind()):
            for key in keys:  # in one order everywhere, so two claims never wait for each other in a circle
                session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 7))"),
                                {"key": f"notify-address:{key}"})
        rows = session.exec(select(OutboxJob.address_key, OutboxJob.created_at)
                            .where(col(OutboxJob.address_key).in_(keys), OutboxJob.kind == "notification",
                                   OutboxJob.created_at > now - UNVERIFIED_WINDOW))
        for key, created_at in rows:
            self.counted[key].append(created_at)

    def take(self, address: str) -> datetime | None:
        """Take one slot for address: None when granted, else when the 24-hour window frees the next one."""
        window = self.counted[address.lower()]
        if len(window) >= self.limit:
            return min(window) + UNVERIFIED_WINDOW
        window.append(self.now)
        return None

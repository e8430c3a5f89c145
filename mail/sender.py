"""The SMTP sender: leases due outbox jobs, composes them, sends over a small pool of reused connections, records."""
from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiosmtplib
from aiosmtplib import SMTPException, SMTPNotSupported

from core.clock import Clock
from core.config import Config, SmtpConfig
from core.db import Database
from core.errors import ConfigError
from core.event_kinds import EventKind
from core.events import record_event, wakeup
from core.i18n import _
from core.models import OutboxStatus
from core.outbox import OutboxService, SendOutcome
from core.tokens import TokenSigner
from mail.compose import OutgoingEmail, outgoing
from mail.dkim_signing import DkimSigner
from mail.metrics import count_send_outcomes
from mail.notification_content import NotificationGatherer, stored_id
from mail.sender_pause import SenderPause
from mail.smtp_faults import FaultScope, fault_of

log = logging.getLogger(__name__)

# A pooled connection idle longer than this is checked with NOOP first: servers drop idle clients.
IDLE_CHECK_SECONDS = 10.0
MIN_WAIT_SECONDS = 0.2
ERROR_WAIT_SECONDS = 5.0


class SmtpPool:
    """At most size connections to the configured server, each reused across emails."""

    def __init__(self, config: SmtpConfig, size: int | None = None) -> None:
        self.config = config
        self.size = max(1, size or config.pool_size)
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []
        self._slots = asyncio.Semaphore(self.size)

    def _client(self) -> aiosmtplib.SMTP:
        cfg = self.config
        return aiosmtplib.SMTP(
            hostname=cfg.host, port=cfg.port, timeout=cfg.timeout,
            use_tls=cfg.tls == "tls", start_tls=cfg.tls == "starttls",
            username=cfg.username or None, password=cfg.password or None,
            cert_bundle=cfg.ca_file or None, local_hostname=cfg.helo_name or None,
        )

    async def _fresh(self) -> aiosmtplib.SMTP:
        client = self._client()
        await client.connect()
        return client

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[aiosmtplib.SMTP]:
        """A connected client; it returns to the pool after use, or is dropped if anything went wrong."""
        async with self._slots:
            client = None
            while self._idle and client is None:
                candidate, last_used = self._idle.pop()
                if not candidate.is_connected:
                    continue
                if time.monotonic() - last_used > IDLE_CHECK_SECONDS:
                    try:
                        await candidate.noop()
                    except SMTPException:
                        candidate.close()
                        continue
                client = candidate
            if client is None:
                client = await self._fresh()
            try:
                yield client
            except BaseException:
                client.close()
                raise
            if client.is_connected:
                self._idle.append((client, time.monotonic()))

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for client, _last in idle:
            try:
                await asyncio.wait_for(client.quit(), 2)
            except (TimeoutError, SMTPException, OSError):
                client.close()


@dataclass
class PreparedEmail:
    """A leased job ready to send, or the reason it could not be composed."""

    job_id: int
    recipient: str
    email: OutgoingEmail | None
    outcome: SendOutcome | None = None


def classify_failure(job_id: int, exc: BaseException, recipient: str, *, opening: bool = False) -> SendOutcome:
    """What a failed send means for its job (mail/smtp_faults.py says whom the failure concerns).

    The server or our account (greeting, EHLO, TLS, login, MAIL FROM, lost connections): released, the sender
    pauses. The email (RCPT TO, DATA): 5xx fails the job with the server's reason, 4xx retries it later.
    """
    if isinstance(exc, ConfigError):
        return SendOutcome(job_id, OutboxStatus.pending, exc.message)
    fault = fault_of(exc, opening=opening)
    if isinstance(exc, SMTPNotSupported) and fault.scope is FaultScope.email:
        return SendOutcome(
            job_id,
            OutboxStatus.failed,
            _(
                "The address {address} needs SMTPUTF8 (it has non-ASCII characters), which the mail server does not "
                "offer; use a server that supports SMTPUTF8 or ask the end user for another address."
            ).format(address=recipient),
        )
    if fault.pauses_sender:
        return SendOutcome(job_id, OutboxStatus.pending, fault.explanation(), release=True)
    return SendOutcome(job_id, OutboxStatus.failed if fault.permanent else OutboxStatus.pending, fault.explanation())


async def send_outgoing(client: aiosmtplib.SMTP, outgoing_email: OutgoingEmail) -> str:
    """Send one composed email on a connected client; returns the server's reply to DATA."""
    # sendmail raises SMTPNotSupported when SMTPUTF8 is asked for and the server does not offer it.
    options = ["SMTPUTF8"] if outgoing_email.smtputf8 else []
    _errors, response = await client.sendmail(outgoing_email.sender, [outgoing_email.recipient], outgoing_email.data,
                                              mail_options=options)
    return response


class OutcomeRecorder:
    """Records send outcomes as they finish: one transaction for whatever finished during the previous one."""

    def __init__(self, record: Callable[[list[SendOutcome]], None]) -> None:
        self._record = record
        self._waiting: list[SendOutcome] = []
        self._task: asyncio.Future[None] | None = None
        self._error: BaseException | None = None

    def add(self, outcome: SendOutcome) -> None:
        self._waiting.append(outcome)
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting, []
            try:
                await asyncio.to_thread(self._record, group)
            except Exception as exc:
                log.exception("recording %d send result(s) failed; those jobs go out again when their lease ends",
                              len(group))
                self._error = self._error or exc

    async def flush(self) -> None:
        """Wait until every added outcome is committed (raises if recording failed: the jobs stay leased)."""
        while self._waiting or (self._task is not None and not self._task.done()):
            if self._task is None or self._task.done():
                self._task = asyncio.ensure_future(self._drain())
            await self._task
        if self._error is not None:
            raise self._error


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{random.getrandbits(32):08x}"


class OutboxSender:
    """Asyncio worker: lease a batch, compose it in a thread, send it through the pool, record it in a thread."""

    def __init__(self, db: Database, config: Config, signer: TokenSigner, clock: Clock, *,
                 worker_id: str | None = None, batch_size: int = 200, lease_seconds: float = 300.0,
                 poll_interval: float = 30.0, pool: SmtpPool | None = None,
                 rng: Callable[[], float] = random.random, pause: SenderPause | None = None) -> None:
        self.db = db
        self.config = config
        self.signer = signer
        self.clock = clock
        self.worker_id = worker_id or default_worker_id()
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.poll_interval = poll_interval
        self.pool = pool or SmtpPool(config.smtp)
        # Read and checked once: a missing or broken key stops start-up with the setting named.
        self.dkim = DkimSigner.from_config(config.mail)
        self.rng = rng
        # Server-wide failures pause the whole sender (not each job); the pause lives in this process only.
        self.pause = pause or SenderPause(rng)
        self._batch_paused = False  # a server-wide failure came during the batch in hand
        self._unrecorded: list[
            tuple[EventKind, dict[str, Any]]
        ] = []  # pause/resume events still to write to the event log
        self._nudged = asyncio.Event()
        self._stopping = False
        self.sent_count = 0

    @property
    def server(self) -> str:
        return f"{self.config.smtp.host}:{self.config.smtp.port}"

    # --- one batch -------------------------------------------------------------------------------
    def _lease_and_compose(self) -> list[PreparedEmail]:
        with self.db.session() as session:
            jobs = OutboxService(session, self.clock, self.rng).lease(
                self.worker_id, self.batch_size, self.lease_seconds
            )
            if not jobs:
                return []
            now = self.clock.now()
            gatherer = NotificationGatherer(session, self.config, self.signer, now)
            gatherer.prefetch(jobs)
            prepared = []
            for job in jobs:
                try:
                    email = outgoing(gatherer.gather(job), now)
                    if self.dkim is not None:  # signed at each attempt: see mail/dkim_signing.py for why
                        email = self.dkim.sign_email(email)
                    prepared.append(PreparedEmail(stored_id(job), job.to_address, email))
                except Exception as exc:
                    if not isinstance(exc, ConfigError):
                        log.exception("could not compose outbox job %s", job.id)
                    outcome = classify_failure(stored_id(job), exc, job.to_address)
                    if outcome.status is OutboxStatus.pending and not isinstance(exc, ConfigError):
                        outcome = SendOutcome(
                            stored_id(job),
                            OutboxStatus.failed,
                            _("The email could not be composed: {error}").format(error=exc),
                        )
                    prepared.append(PreparedEmail(stored_id(job), job.to_address, None, outcome))
            return prepared

    async def _deliver(self, item: PreparedEmail) -> SendOutcome:
        if item.outcome is not None:
            return item.outcome
        if item.email is None:
            raise RuntimeError(f"outbox job {item.job_id} was prepared with neither an email nor an outcome")
        opening = True
        try:
            async with self.pool.connection() as client:
                opening = False
                response = await send_outgoing(client, item.email)
        except Exception as exc:  # noqa: BLE001 - classify_failure sorts every failure into retry, pause or bounce
            outcome = classify_failure(item.job_id, exc, item.recipient, opening=opening)
            if outcome.release:
                self._server_failed(outcome.detail or "")
            else:
                log.warning("sending outbox job %s to %s failed (%s): %s", item.job_id, item.recipient,
                            "permanent" if outcome.status is OutboxStatus.failed else "will retry", outcome.detail)
            return outcome
        self._server_worked()
        return SendOutcome(item.job_id, OutboxStatus.sent, response)

    # --- the pause -------------------------------------------------------------------------------
    def _server_failed(self, reason: str) -> None:
        """A server-wide failure: start or extend the pause (once per batch), tell /healthz and, once, the agents."""
        if self._batch_paused:
            return
        self._batch_paused = True
        now = self.clock.now()
        started = self.pause.fail(reason, now)
        self.db.health.degrade("sender", reason)
        wait = self.pause.seconds_left(now)
        if started:
            log.warning("email sending paused: %s (mail server %s); every email stays queued, next try in %.0f s",
                        reason, self.server, wait)
            self._unrecorded.append((EventKind.sender_paused, {
                "worker": self.worker_id[:128], "server": self.server, "reason": reason,
                "until": self.pause.until.isoformat() if self.pause.until else None}))
        else:
            log.warning("email sending still paused after try %d: %s; next try in %.0f s",
                        self.pause.failures, reason, wait)

    def _server_worked(self) -> None:
        """The server took an email: a pause ends, and the next failure starts the backoff from the beginning."""
        if self._batch_paused or not self.pause.active:
            return
        since = self.pause.since
        self.pause.succeed()
        self.db.health.recover("sender")
        log.warning("email sending resumed: mail server %s works again", self.server)
        self._unrecorded.append((EventKind.sender_resumed, {
            "worker": self.worker_id[:128], "server": self.server,
            "paused_since": since.isoformat() if since else None}))

    def _record_sender_events(self, events: list[tuple[EventKind, dict[str, Any]]]) -> None:
        with self.db.session() as session:
            now = self.clock.now()
            for kind, payload in events:
                record_event(session, now, kind, None, **payload)
            session.commit()
        wakeup.notify()

    async def _record_pause_news(self) -> None:
        """Write pause and resume events for consoles; kept for the next batch if the database does not answer."""
        if not self._unrecorded:
            return
        events, self._unrecorded = self._unrecorded, []
        try:
            await asyncio.to_thread(self._record_sender_events, events)
        except Exception:
            log.exception("recording that email sending paused or resumed failed; trying again after the next batch")
            self._unrecorded[:0] = events

    async def _probe(self) -> None:
        """A paused sender with nothing to send checks the server by connecting (greeting, EHLO, TLS, login)."""
        opening = True
        try:
            async with self.pool.connection() as client:
                opening = False
                await client.noop()
        except Exception as exc:  # noqa: BLE001 - any failure of the probe means the server is still down
            self._server_failed(fault_of(exc, opening=opening).explanation())
            return
        self._server_worked()

    async def _deliver_all(self, prepared: list[PreparedEmail]) -> list[SendOutcome]:
        """Send a batch concurrently (the pool bounds it), recording each result as soon as it is known.

        Results are recorded in groups while the batch is still going out, so a crash re-sends only the emails
        in flight, not the whole batch; if cancelled, what was already sent is recorded before giving up.
        """
        recorder = OutcomeRecorder(self._record)
        # Our own bound on concurrent sends, so an email waiting for its turn can see that the server failed
        # meanwhile and go back to the queue untried instead of knocking once more.
        turns = asyncio.Semaphore(self.pool.size)

        async def deliver_and_record(item: PreparedEmail) -> SendOutcome:
            async with turns:
                if self._batch_paused and item.outcome is None:
                    outcome = SendOutcome(item.job_id, OutboxStatus.pending, self.pause.reason, release=True)
                else:
                    outcome = await self._deliver(item)
            recorder.add(outcome)
            return outcome

        tasks = [asyncio.ensure_future(deliver_and_record(item)) for item in prepared]
        try:
            outcomes = list(await asyncio.gather(*tasks))
        except asyncio.CancelledError:
            # The rest stay leased and go out again when their lease ends, with the same Message-ID.
            await asyncio.shield(recorder.flush())
            raise
        # Shielded: once emails went out, a cancellation waits for them to be recorded.
        await asyncio.shield(recorder.flush())
        return outcomes

    def _record(self, outcomes: list[SendOutcome]) -> None:
        # Retry delays are computed here, from each job's attempt count, with the sender's jitter source.
        with self.db.session() as session:
            service = OutboxService(session, self.clock, self.rng)
            service.record_outcomes(outcomes)
        count_send_outcomes(outcomes)  # after the commit: what the database now says happened

    async def run_once(self) -> int:
        """Send one batch of due jobs; returns how many jobs were leased (0: nothing was due, or paused)."""
        self._batch_paused = False
        if self.pause.blocks(self.clock.now()):
            await self._record_pause_news()
            return 0
        try:
            prepared = await asyncio.to_thread(self._lease_and_compose)
            if not prepared:
                if self.pause.active:
                    await self._probe()
                return 0
            outcomes = await self._deliver_all(prepared)
        finally:
            await self._record_pause_news()
        self.sent_count += sum(1 for o in outcomes if o.status is OutboxStatus.sent)
        return len(prepared)

    async def drain(self) -> int:
        """Send batches until nothing is due (or stop() was called); returns how many jobs were leased.

        Batches run one after another: overlapping composition with sending in threads was measured slower here,
        since both compete for the interpreter lock.
        """
        leased = 0
        while not self._stopping:
            count = await self.run_once()
            if not count:
                break
            leased += count
        return leased

    # --- the loop ----------------------------------------------------------------------------------
    def nudge(self) -> None:
        """New jobs may be due (called by the scheduler after a claim, on the event loop's thread)."""
        self._nudged.set()

    async def _seconds_until_due(self) -> float:
        now = self.clock.now()
        if self.pause.blocks(now):
            # Jobs due meanwhile wait for the pause; a nudge still wakes the loop to look again.
            return max(MIN_WAIT_SECONDS, self.pause.seconds_left(now))

        def earliest() -> float:
            with self.db.read_session() as session:
                when = OutboxService(session, self.clock).next_attempt_at()
            if when is None:
                return self.poll_interval
            # Never spin: a job due now that could not be leased (another worker's lease) is looked at again soon.
            return min(self.poll_interval, max(MIN_WAIT_SECONDS, (when - self.clock.now()).total_seconds()))

        return await asyncio.to_thread(earliest)

    async def run(self) -> None:
        """Send until stop(); between batches sleep until a retry is due, a nudge comes, or the poll interval."""
        try:
            while not self._stopping:
                # Cleared before looking, so a nudge that comes while a batch is out is never lost.
                self._nudged.clear()
                try:
                    if await self.drain():
                        continue
                    wait = await self._seconds_until_due()
                except Exception:  # the database or the server hiccupped; the jobs are safe, try again later
                    log.exception("outbox sender pass failed")
                    wait = min(self.poll_interval, ERROR_WAIT_SECONDS)
                if self._stopping:
                    break
                try:
                    await asyncio.wait_for(self._nudged.wait(), wait)
                except TimeoutError:
                    pass
        finally:
            await self.pool.close()

    async def stop(self) -> None:
        """Finish the batch in hand (sent emails get recorded), then return from run()."""
        self._stopping = True
        self._nudged.set()

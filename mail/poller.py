"""The IMAP poller: fetches new mail from the support mailbox, files it (core.inbound), then flags it \\Seen.

Order per email: FETCH (BODY.PEEK, so nothing is marked read early), file in a worker thread (the record, its
conversation message and the mailbox's last UID commit together), then STORE \\Seen and the optional move. A
crash between commit and \\Seen leaves the email unread on the server but never files it twice: the next run
starts after the committed UID, and a UIDVALIDITY change rescans with Message-ID dedupe.
"""
from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError

from core.clock import Clock
from core.config import Config
from core.db import Database
from core.errors import DatabaseBusy
from core.i18n import _
from core.inbound import InboundService, IncomingEmail, Verdict
from core.models import InboundEmail, InboundOutcome
from core.tokens import TokenSigner
from mail.backoff import Backoff, stop_requested_within
from mail.imap_link import IDLE_LIMIT_SECONDS, ImapLink
from mail.metrics import IMAP_CONNECTED, count_filed
from mail.parsing import parse_email
from mail.routing import file_raw_email

log = logging.getLogger(__name__)

FETCH_CHUNK = 50
# How long stop() lets a session finish the email in hand before cutting it short: SIGTERM ends `serve` within 5 s.
STOP_GRACE_SECONDS = 3.0
RAW_CLEANUP_EVERY = timedelta(hours=1)  # how often old raw sources are cleared (mail.raw_retention_days)


class ImapPoller:
    """run() until stop(): connect, select, catch up, then IDLE (or poll) for more; reconnect after failures.

    Every wait on the server is bounded (mail.imap_link), and the poller is never quiet for longer than half of
    imap.keepalive: IDLE is renewed and polls are made at least that often, and each answer must come within the
    other half, so a dead or half-open link is noticed within imap.keepalive and the session reconnects.
    """

    def __init__(self, db: Database, config: Config, clock: Clock, signer: TokenSigner | None, *,
                 on_committed: Callable[[InboundEmail], Any] | None = None,
                 backoff_base: float = 0.5, backoff_cap: float = 60.0, allow_idle: bool = True,
                 stop_grace: float = STOP_GRACE_SECONDS) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.signer = signer
        self.mailbox = config.imap.mailbox or "INBOX"
        self.on_committed = on_committed
        self.backoff = Backoff(backoff_base, backoff_cap)
        self.allow_idle = allow_idle  # False: poll even when the server offers IDLE (for comparison)
        self.stop_grace = stop_grace
        self.using_idle: bool | None = None  # what the last session used, for tests and /healthz
        self.connections = 0
        self.idles = 0  # IDLE commands issued (each renewal is one more)
        self.encrypted: bool | None = None  # whether the last login went over TLS
        self._stop = asyncio.Event()
        self._stopped = asyncio.Event()
        self._running = False
        self._session_task: asyncio.Task[None] | None = None
        self._link: ImapLink | None = None
        self._next_raw_cleanup: datetime | None = None  # by the injected clock, so tests need not wait an hour
        self._worked = False  # whether the current session got through login, select and one full catch-up

    @property
    def answer_timeout(self) -> float:
        """How long any answer from the server may take, and how long the poller stays quiet: keepalive / 2."""
        return max(0.05, self.config.imap.keepalive / 2)

    # --- lifecycle ------------------------------------------------------------------------------------
    async def run(self) -> None:
        self._stopped.clear()
        self._running = True
        try:
            while not self._stop.is_set():
                self._worked = False
                # The session runs as its own task so that stop() can cut it short without cancelling run().
                session = self._session_task = asyncio.create_task(self._session(), name="imap-session")
                try:
                    await asyncio.wait({session})
                finally:
                    session.cancel()  # a no-op once it is done; otherwise run() itself is being cancelled
                    self._close()
                if session.cancelled() or self._stop.is_set():
                    break
                exc = session.exception()
                if exc is None:
                    continue
                if self._worked:
                    self.backoff.reset()  # the last outage is over: this one starts again at the first step
                delay = self.backoff.next_delay()
                log.warning("IMAP session ended (%s: %s); reconnecting in %.1f s", type(exc).__name__, exc, delay)
                await stop_requested_within(self._stop, delay)
        finally:
            self._running = False
            self._session_task = None
            self._stopped.set()

    async def stop(self) -> None:
        """Stop after the email in hand is filed and flagged; a session the server leaves hanging is cut short.

        The session gets stop_grace seconds to finish on its own (one DONE, the email in hand, LOGOUT); after that
        its network waits are cancelled. An email already committed but not yet flagged \\Seen is skipped by the
        next run (it resumes after the committed UID), so cutting short loses nothing.
        """
        self._stop.set()  # an IDLE or poll wait in progress notices this and ends itself
        if not self._running:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._stopped.wait()), self.stop_grace)
            return
        except TimeoutError:
            pass
        log.warning("the IMAP server did not answer within %.0f s of the stop; closing the connection", self.stop_grace)
        session = self._session_task
        if session is not None:
            session.cancel()
        try:
            await asyncio.wait_for(self._stopped.wait(), 5)
        except TimeoutError:
            log.error("the IMAP poller did not stop 5 s after its session was cancelled")

    # --- one connection --------------------------------------------------------------------------------
    async def _connect(self) -> ImapLink:
        imap = self.config.imap
        link = self._link = ImapLink(imap.host, imap.port, tls=imap.tls, timeout=self.answer_timeout,
                                     ssl_context=self._ssl_context)
        await link.open()
        self.encrypted = link.encrypted
        await link.login(imap.username, imap.password)
        self.connections += 1
        return link

    def _ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.config.imap.ca_file or None)

    async def _session(self) -> None:
        link = await self._connect()
        uidvalidity = await link.select(self.mailbox)
        state = await asyncio.to_thread(self._start_mailbox, uidvalidity)
        last_uid = state
        IMAP_CONNECTED.set(1)
        self.using_idle = self.allow_idle and link.has_capability("IDLE")
        quiet = self._quiet_seconds()
        log.info("IMAP %s selected (UIDVALIDITY %s, resuming after UID %s, %s, keepalive %s s)", self.mailbox,
                 uidvalidity, last_uid, "IDLE" if self.using_idle else f"polling every {quiet:g} s",
                 self.config.imap.keepalive)
        while not self._stop.is_set():
            last_uid = await self._catch_up(link, uidvalidity, last_uid)
            # "Worked" means logged in, selected and caught up: a session that fails before that (a database that
            # cannot file, a server that breaks on SEARCH) keeps the backoff growing instead of reconnecting hot.
            self._worked = True
            await self._clear_old_raw_sources()
            if self._stop.is_set():
                break
            if self.using_idle:
                await link.idle(quiet, self._stop, on_idling=self._count_idle)
            elif await stop_requested_within(self._stop, quiet):
                break
            else:
                # Some servers (pymap) report new mail to a selected mailbox only with a command's updates; the
                # NOOP is also the keepalive round trip while polling.
                await link.noop()
        await link.logout(timeout=min(1.0, self.answer_timeout))

    def _count_idle(self) -> None:
        self.idles += 1

    def _quiet_seconds(self) -> float:
        """The longest the poller waits without a round trip: the IDLE renewal, or the time between polls."""
        imap = self.config.imap
        # Renewing at least every poll interval bounds the delay when a server fails to push (pymap's dict backend
        # missed mail appended just before IDLE): one DONE + SEARCH + IDLE per interval is cheap.
        limits = [imap.poll_interval, self.answer_timeout]
        if self.using_idle:
            limits += [imap.idle_renew, IDLE_LIMIT_SECONDS]
        return max(0.05, min(limits))

    async def _catch_up(self, link: ImapLink, uidvalidity: int, last_uid: int) -> int:
        """File every email above last_uid, oldest first, until a SEARCH finds nothing new; returns the last UID.

        Searching again after each round matters: mail that arrives while we STORE \\Seen (or SEARCH) is announced
        in that command's response, not later in IDLE, so only a fresh SEARCH right before IDLE sees it.
        """
        while not self._stop.is_set():
            link.take_new_mail()
            newest = await self._catch_up_once(link, uidvalidity, last_uid)
            # An EXISTS in this round's responses that its SEARCH did not include means one more round: the
            # server will not announce that message again in IDLE.
            if newest == last_uid and not link.take_new_mail():
                return last_uid
            last_uid = newest
        return last_uid

    async def _catch_up_once(self, link: ImapLink, uidvalidity: int, last_uid: int) -> int:
        uids = await link.uids_after(last_uid)
        for start in range(0, len(uids), FETCH_CHUNK):
            for uid, raw in await link.fetch_raw(uids[start:start + FETCH_CHUNK]):
                if self._stop.is_set():
                    return last_uid
                record = await asyncio.to_thread(self._file, raw, uidvalidity, uid)
                count_filed(record)
                last_uid = max(last_uid, uid)
                if self.on_committed is not None:
                    self.on_committed(record)
                await self._mark_processed(link, uid)
        return last_uid

    async def _clear_old_raw_sources(self) -> None:
        """At most once per RAW_CLEANUP_EVERY: the one process reading the mailbox also forgets old raw sources."""
        now = self.clock.now()
        if self._next_raw_cleanup is not None and now < self._next_raw_cleanup:
            return
        self._next_raw_cleanup = now + RAW_CLEANUP_EVERY
        cleared = await asyncio.to_thread(self._clear_raw_sources)
        if cleared:
            log.info("cleared the raw source of %s inbound emails older than %s days", cleared,
                     self.config.mail.raw_retention_days)

    async def _mark_processed(self, link: ImapLink, uid: int) -> None:
        """Only after the commit: flag \\Seen, and move to the processed folder when one is configured."""
        await link.mark_seen(uid)
        folder = self.config.imap.processed_folder
        if folder:
            await link.move(uid, folder)

    def _close(self) -> None:
        IMAP_CONNECTED.set(0)
        link, self._link = self._link, None
        if link is not None:
            link.close()

    # --- database work (worker threads) ---------------------------------------------------------------------
    def _start_mailbox(self, uidvalidity: int) -> int:
        with self.db.session() as session:
            return InboundService(session, self.clock).start_mailbox(self.mailbox, uidvalidity).last_uid

    def _clear_raw_sources(self) -> int:
        with self.db.session() as session:
            return InboundService(session, self.clock).clear_old_raw_sources(self.config.mail.raw_retention_days)

    def _file(self, raw: bytes, uidvalidity: int, uid: int) -> InboundEmail:
        try:
            with self.db.session() as session:
                return file_raw_email(session, self.clock, self.config, self.signer, raw, mailbox=self.mailbox,
                                      uidvalidity=uidvalidity, uid=uid)
        except (DBAPIError, DatabaseBusy):
            raise  # the database is unreachable or busy: retry the same email after reconnecting
        except Exception as exc:
            # One email that breaks routing must not stop the mailbox for ever: keep it, refused, for an agent.
            log.exception("inbound email UID %s could not be processed; recorded as refused", uid)
            parsed = parse_email(raw)
            # The text is kept unstripped (quote stripping may be what failed) so an agent can post it as written.
            incoming = IncomingEmail(message_id=parsed.message_id, sender=parsed.sender[:320], raw=raw,
                                     mailbox=self.mailbox, uidvalidity=uidvalidity, uid=uid, subject=parsed.subject,
                                     sender_name=parsed.sender_name or None, text=parsed.text,
                                     original_text=parsed.text)
            verdict = Verdict(InboundOutcome.refused, _("The email could not be processed ({error}).").format(
                error=type(exc).__name__))
            with self.db.session() as session:
                return InboundService(session, self.clock).file(incoming, verdict)


def build_poller(db: Database, config: Config, clock: Clock, signer: TokenSigner | None) -> ImapPoller:
    """One poller for the configured mailbox (mail.elected_poller runs one per term of reading)."""
    return ImapPoller(db, config, clock, signer)

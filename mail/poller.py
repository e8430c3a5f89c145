"""The IMAP poller: fetches new mail from the support mailbox, files it (core.inbound), then flags it \\Seen.

Order per email: FETCH (BODY.PEEK, so nothing is marked read early), file in a worker thread (the record, its
conversation message and the mailbox's last UID commit together), then STORE \\Seen and the optional move. A
crash between commit and \\Seen leaves the email unread on the server but never files it twice: the next run
starts after the committed UID, and a UIDVALIDITY change rescans with Message-ID dedupe.
"""
from __future__ import annotations

import asyncio
import logging
import random
import re
import ssl
from datetime import datetime, timedelta
from typing import Any, Callable

from aioimaplib import aioimaplib
from sqlalchemy.exc import DBAPIError

from core.clock import Clock
from core.config import Config
from core.db import Database
from core.i18n import _
from core.inbound import IncomingEmail, InboundEmail, InboundOutcome, InboundService, Verdict
from core.tokens import TokenSigner
from mail.parsing import parse_email
from mail.routing import file_raw_email

log = logging.getLogger(__name__)

FETCH_CHUNK = 50
IDLE_LIMIT_SECONDS = 29 * 60  # RFC 2177: servers may drop an IDLE after 30 minutes
RAW_CLEANUP_EVERY = timedelta(hours=1)  # how often old raw sources are cleared (mail.raw_retention_days)


class ImapError(Exception):
    """The server refused a command the poller needs (login, select, fetch)."""


def _ok(response: Any, what: str) -> Any:
    if response.result != "OK":
        detail = b" ".join(bytes(line) for line in response.lines[-1:]).decode("utf-8", "replace")
        raise ImapError(f"IMAP {what} failed: {detail}")
    return response


def parse_fetch(lines: list[Any]) -> list[tuple[int, bytes]]:
    """(UID, raw message) pairs from a UID FETCH (UID BODY.PEEK[]) response, whatever order the items come in."""
    found: list[tuple[int, bytes]] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if isinstance(line, bytes) and b"FETCH" in line \
                and re.search(rb"\{\d+\}$", line) and index + 1 < len(lines):
            literal = bytes(lines[index + 1])
            uid_match = re.search(rb"UID (\d+)", line)
            if uid_match is None and index + 2 < len(lines):
                uid_match = re.search(rb"UID (\d+)", bytes(lines[index + 2]))
            if uid_match is not None:
                found.append((int(uid_match.group(1)), literal))
            index += 2
            continue
        index += 1
    return found


def search_uids(lines: list[Any]) -> set[int]:
    """UIDs from a UID SEARCH response; aioimaplib strips "* SEARCH", and untagged EXISTS/RECENT lines may mix in."""
    uids: set[int] = set()
    for line in lines[:-1]:
        text = bytes(line).strip()
        if text.upper().startswith(b"SEARCH"):
            text = text[6:].strip()
        if re.fullmatch(rb"\d+( \d+)*", text):
            uids.update(int(n) for n in text.split())
    return uids


class ImapPoller:
    """run() until stop(): connect, select, catch up, then IDLE (or poll) for more; reconnect after failures."""

    def __init__(self, db: Database, config: Config, clock: Clock, signer: TokenSigner | None, *,
                 on_committed: Callable[[InboundEmail], Any] | None = None,
                 backoff_base: float = 0.5, backoff_cap: float = 60.0, allow_idle: bool = True) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.signer = signer
        self.mailbox = config.imap.mailbox or "INBOX"
        self.on_committed = on_committed
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.allow_idle = allow_idle  # False: poll even when the server offers IDLE (for comparison)
        self.using_idle: bool | None = None  # what the last session used, for tests and /healthz
        self.connections = 0
        self.idles = 0  # IDLE commands issued (each renewal is one more)
        self.encrypted: bool | None = None  # whether the last login went over TLS
        self._stop = asyncio.Event()
        self._stopped = asyncio.Event()
        self._client: aioimaplib.IMAP4 | None = None
        self._lost = asyncio.Event()
        self._next_raw_cleanup: datetime | None = None  # by the injected clock, so tests need not wait an hour

    # --- lifecycle ------------------------------------------------------------------------------------
    async def run(self) -> None:
        self._stopped.clear()
        failures = 0
        try:
            while not self._stop.is_set():
                try:
                    await self._session()
                    failures = 0
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # any network or server error: back off and reconnect
                    if self._stop.is_set():
                        break
                    failures += 1
                    delay = min(self.backoff_cap, self.backoff_base * 2 ** (failures - 1))
                    delay = delay / 2 + random.random() * delay / 2
                    log.warning("IMAP session ended (%s: %s); reconnecting in %.1f s", type(exc).__name__, exc, delay)
                    await self._wait_stop(delay)
                finally:
                    await self._close()
        finally:
            self._stopped.set()

    async def stop(self) -> None:
        """Stop after the email in hand is filed and flagged; returns once run() has ended."""
        self._stop.set()  # an IDLE in progress notices this and ends itself with one DONE
        if not self._stopped.is_set():
            try:
                await asyncio.wait_for(self._stopped.wait(), 30)
            except asyncio.TimeoutError:
                log.warning("the IMAP poller did not stop within 30 s")

    async def _wait_stop(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
            return True
        except asyncio.TimeoutError:
            return False

    # --- one connection --------------------------------------------------------------------------------
    async def _connect(self) -> aioimaplib.IMAP4:
        imap = self.config.imap
        self._lost = asyncio.Event()
        lost = self._lost

        def connection_lost(exc: Exception | None) -> None:
            lost.set()

        if imap.tls == "tls":
            client: aioimaplib.IMAP4 = aioimaplib.IMAP4_SSL(host=imap.host, port=imap.port, timeout=30,
                                                            ssl_context=self._ssl_context())
            client.protocol.conn_lost_cb = connection_lost
        else:
            client = aioimaplib.IMAP4(host=imap.host, port=imap.port, timeout=30, conn_lost_cb=connection_lost)
        self._client = client
        await client.wait_hello_from_server()
        if imap.tls == "starttls":
            await self._starttls(client)
        self.encrypted = client.protocol.transport.get_extra_info("ssl_object") is not None
        _ok(await client.login(imap.username, imap.password), "LOGIN")
        self.connections += 1
        return client

    def _ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.config.imap.ca_file or None)

    async def _starttls(self, client: aioimaplib.IMAP4) -> None:
        """aioimaplib has no STARTTLS command: send it, then upgrade the transport under the same protocol."""
        _ok(await asyncio.wait_for(client.protocol.execute(aioimaplib.Command("STARTTLS", client.protocol.new_tag())),
                                   30), "STARTTLS")
        loop = asyncio.get_running_loop()
        protocol = client.protocol
        transport = await loop.start_tls(protocol.transport, protocol, self._ssl_context(),
                                         server_hostname=self.config.imap.host)
        protocol.transport = transport
        await client.protocol.capability()

    async def _session(self) -> None:
        client = await self._connect()
        selected = _ok(await client.select(self.mailbox), f"SELECT {self.mailbox}")
        uidvalidity = 0
        for line in selected.lines:
            match = re.search(rb"UIDVALIDITY (\d+)", bytes(line))
            if match:
                uidvalidity = int(match.group(1))
        state = await asyncio.to_thread(self._start_mailbox, uidvalidity)
        last_uid = state
        self.using_idle = self.allow_idle and client.has_capability("IDLE")
        log.info("IMAP %s selected (UIDVALIDITY %s, resuming after UID %s, %s)", self.mailbox, uidvalidity,
                 last_uid, "IDLE" if self.using_idle else f"polling every {self.config.imap.poll_interval} s")
        while not self._stop.is_set():
            last_uid = await self._catch_up(client, uidvalidity, last_uid)
            await self._clear_old_raw_sources()
            if self._stop.is_set():
                break
            if self.using_idle:
                await self._idle(client)
            elif await self._wait_stop(self.config.imap.poll_interval):
                break
            else:
                # Some servers (pymap) report new mail to a selected mailbox only with a command's updates.
                _ok(await client.noop(), "NOOP")
            if self._lost.is_set():
                raise ConnectionError("the IMAP connection was closed")
        try:
            await asyncio.wait_for(client.logout(), 5)
        except Exception:
            pass

    async def _idle(self, client: aioimaplib.IMAP4) -> None:
        """Wait in IDLE until the server pushes something, the renewal time comes, the line drops, or stop()."""
        # Renewing at least every poll interval bounds the delay when a server fails to push (pymap's dict backend
        # missed mail appended just before IDLE): one DONE + SEARCH + IDLE per interval is cheap.
        renew = max(0.05, min(self.config.imap.idle_renew, self.config.imap.poll_interval, IDLE_LIMIT_SECONDS))
        while not client.protocol.idle_queue.empty():  # pushes left from the last IDLE are handled already
            client.protocol.idle_queue.get_nowait()
        idle_task = await client.idle_start(timeout=renew)
        self.idles += 1
        push = asyncio.ensure_future(client.wait_server_push(timeout=renew + 30))
        lost = asyncio.ensure_future(self._lost.wait())
        stop = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({push, lost, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (lost, stop):
                task.cancel()
        if self._lost.is_set():
            push.cancel()
            raise ConnectionError("the IMAP connection dropped during IDLE")
        if not push.done():
            push.cancel()
        elif push.exception() is not None:
            raise push.exception()  # type: ignore[misc]
        if client.has_pending_idle():
            client.idle_done()
        await asyncio.wait_for(idle_task, 30)

    async def _catch_up(self, client: aioimaplib.IMAP4, uidvalidity: int, last_uid: int) -> int:
        """File every email above last_uid, oldest first, until a SEARCH finds nothing new; returns the last UID.

        Searching again after each round matters: mail that arrives while we STORE \\Seen is announced in that
        command's response, not later in IDLE, so only a fresh SEARCH right before IDLE sees it.
        """
        while not self._stop.is_set():
            newest = await self._catch_up_once(client, uidvalidity, last_uid)
            if newest == last_uid:
                return last_uid
            last_uid = newest
        return last_uid

    async def _catch_up_once(self, client: aioimaplib.IMAP4, uidvalidity: int, last_uid: int) -> int:
        found = _ok(await client.uid_search(f"UID {last_uid + 1}:*", charset=None), "UID SEARCH")
        uids = sorted(search_uids(found.lines))
        uids = [uid for uid in uids if uid > last_uid]
        for start in range(0, len(uids), FETCH_CHUNK):
            chunk = uids[start:start + FETCH_CHUNK]
            fetched = _ok(await client.uid("fetch", ",".join(map(str, chunk)), "(UID BODY.PEEK[])"), "UID FETCH")
            for uid, raw in sorted(parse_fetch(fetched.lines)):
                if self._stop.is_set():
                    return last_uid
                record = await asyncio.to_thread(self._file, raw, uidvalidity, uid)
                last_uid = max(last_uid, uid)
                if self.on_committed is not None:
                    self.on_committed(record)
                await self._mark_processed(client, uid)
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

    async def _mark_processed(self, client: aioimaplib.IMAP4, uid: int) -> None:
        """Only after the commit: flag \\Seen, and move to the processed folder when one is configured."""
        _ok(await client.uid("store", str(uid), "+FLAGS.SILENT (\\Seen)"), "UID STORE")
        folder = self.config.imap.processed_folder
        if folder:
            if client.has_capability("MOVE"):
                _ok(await asyncio.wait_for(client.protocol.move(str(uid), folder, by_uid=True), 30), "UID MOVE")
            else:
                _ok(await client.uid("copy", str(uid), folder), "UID COPY")
                _ok(await client.uid("store", str(uid), "+FLAGS.SILENT (\\Deleted)"), "UID STORE")
                await client.expunge()

    async def _close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.protocol.transport.close()
        except Exception:
            pass

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
        except DBAPIError:
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
    """The factory `threadline serve` calls when imap.enabled is true."""
    return ImapPoller(db, config, clock, signer)

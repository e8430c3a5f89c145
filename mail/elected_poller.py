"""One IMAP reader per mailbox across processes: the poller runs only while this process holds the reader lock."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from typing import Any

from core.reader_lock import ReaderLock
from mail.backoff import Backoff, stop_requested_within
from mail.poller import ImapPoller

log = logging.getLogger(__name__)


class ElectedPoller:
    """A Worker around ImapPoller: stands by until it gets core.reader_lock's lock for the mailbox, then reads.

    Stand-bys try for the lock every leader_timeout / 3, and the reader checks every leader_timeout / 3 that it
    still holds it, so when the reader's process dies another takes over within leader_timeout (at once the
    database ends the dead session, after at most one try interval). A reader that loses the lock (its database
    connection dropped) stops polling and stands by like the others.
    """

    def __init__(self, make_poller: Callable[[], ImapPoller], lock: ReaderLock, leader_timeout: float) -> None:
        # A fresh poller per term: a stopped ImapPoller stays stopped.
        self.make_poller = make_poller
        self.poller: ImapPoller | None = None
        self.lock = lock
        self.leader_timeout = leader_timeout
        self.reading = False
        self.elections_won = 0
        self.process = f"{socket.gethostname()}:{os.getpid()}"
        self._stop = asyncio.Event()
        self._backoff = Backoff(0.5, max(1.0, leader_timeout / 3))

    @property
    def check_seconds(self) -> float:
        return max(0.05, self.leader_timeout / 3)

    def health_facts(self) -> dict[str, Any]:
        """For /healthz: whether this process reads the mailbox or stands by."""
        return {"imap_reader": "this process" if self.reading else "standby"}

    async def run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    won = await asyncio.to_thread(self.lock.try_acquire)
                    self._backoff.reset()
                except Exception as exc:  # noqa: BLE001 - the database is away: stand by and try again
                    delay = self._backoff.next_delay()
                    log.warning("cannot ask for the IMAP reader lock (%s); trying again in %.1f s", exc, delay)
                    await stop_requested_within(self._stop, delay)
                    continue
                if not won:
                    await stop_requested_within(self._stop, self.check_seconds)
                    continue
                await self._read_while_held()
        finally:
            await asyncio.to_thread(self.lock.release)

    async def _read_while_held(self) -> None:
        self.reading = True
        self.elections_won += 1
        poller = self.poller = self.make_poller()
        log.info("this process reads the mailbox now", extra={"reader": self.process, "mailbox": poller.mailbox})
        reader = asyncio.create_task(poller.run(), name="imap-reader")
        try:
            while not self._stop.is_set() and not reader.done():
                if await stop_requested_within(self._stop, self.check_seconds) or reader.done():
                    break
                if not await asyncio.to_thread(self.lock.still_held):
                    log.warning("lost the IMAP reader lock; standing by", extra={"reader": self.process})
                    break
        finally:
            self.reading = False
            await poller.stop()
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            await asyncio.to_thread(self.lock.release)

    async def stop(self) -> None:
        """Stop reading (the poller files the email in hand first) and give up the lock."""
        self._stop.set()
        if self.poller is not None:
            await self.poller.stop()

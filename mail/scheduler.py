"""The notification scheduler: sleeps until the next conversation is due (or a wake-up), claims due ones into jobs."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlmodel import Session

from core.clock import Clock
from core.db import Database
from core.events import wakeup
from core.notifications import NotificationService
from core.tokens import TokenSigner

log = logging.getLogger(__name__)

MIN_WAIT_SECONDS = 0.2
ERROR_WAIT_SECONDS = 5.0


class NotificationScheduler:
    """Claims due conversations into outbox jobs (core.notifications) and nudges the sender.

    It sleeps until NotificationService.next_due_at(), an in-process wake-up (any committed change), or
    max_interval, whichever comes first; the interval covers changes made by other processes.
    """

    def __init__(self, db: Database, clock: Clock, signer: TokenSigner, *, message_id_domain: str = "",
                 worker_id: str = "scheduler", batch_size: int = 100, max_interval: float = 30.0,
                 unverified_daily_limit: int | None = None,
                 on_claimed: Callable[[int], None] | None = None) -> None:
        self.db = db
        self.clock = clock
        self.signer = signer
        self.message_id_domain = message_id_domain
        self.unverified_daily_limit = unverified_daily_limit
        self.worker_id = worker_id
        self.batch_size = batch_size
        self.max_interval = max_interval
        self.on_claimed = on_claimed
        self.claimed_count = 0
        self._woken = asyncio.Event()
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None

    def _service(self, session: Session) -> NotificationService:
        limits = {} if self.unverified_daily_limit is None else {"unverified_daily_limit": self.unverified_daily_limit}
        return NotificationService(session, self.clock, signer=self.signer, message_id_domain=self.message_id_domain,
                                   **limits)

    def _claim(self) -> int:
        with self.db.session() as session:
            return len(self._service(session).claim_due(self.batch_size, self.worker_id))

    def _seconds_until_due(self) -> float:
        """Seconds until the earliest due time (0 or less: due now), at most max_interval; a read, no lock."""
        with self.db.read_session() as session:
            when = self._service(session).next_due_at()
        if when is None:
            return self.max_interval
        return min(self.max_interval, float((when - self.clock.now()).total_seconds()))

    async def run_once(self) -> int:
        """Claim everything due now, in batches; returns how many jobs were created."""
        total = 0
        while True:
            claimed = await asyncio.to_thread(self._claim)
            total += claimed
            if claimed < self.batch_size:
                break
        if total:
            self.claimed_count += total
            log.info("claimed %d notification job(s)", total)
            if self.on_claimed is not None:
                self.on_claimed(total)
        return total

    def wake(self) -> None:
        """Look again now; safe from any thread (core's wake-up calls it after each commit)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            if asyncio.get_running_loop() is loop:
                self._woken.set()
                return
        except RuntimeError:
            pass
        loop.call_soon_threadsafe(self._woken.set)

    async def run(self) -> None:
        """Claim due work until stop(); claims are transactions, so a cancellation never leaves half a claim."""
        self._loop = asyncio.get_running_loop()
        wakeup.subscribe(self.wake)
        try:
            while not self._stopping:
                # Cleared before looking, so a wake-up during the pass is never lost.
                self._woken.clear()
                try:
                    # Every commit that recorded events anywhere wakes this loop, and most change no due time: a
                    # read says whether anything is due before a claim takes the write lock (under load, claiming
                    # on each wake-up was two write transactions per chat message per process, for nothing).
                    wait = await asyncio.to_thread(self._seconds_until_due)
                    if wait <= 0:
                        if await self.run_once():
                            continue  # more may have come due meanwhile
                        # Due, yet nothing to claim: another process holds it right now. Never spin on it.
                        wait = MIN_WAIT_SECONDS
                except Exception:  # a database hiccup must not end the scheduler; it tries again later
                    log.exception("notification scheduler pass failed")
                    wait = min(self.max_interval, ERROR_WAIT_SECONDS)
                if self._stopping:
                    break
                try:
                    await asyncio.wait_for(self._woken.wait(), wait)
                except TimeoutError:
                    pass
        finally:
            wakeup.unsubscribe(self.wake)

    async def stop(self) -> None:
        self._stopping = True
        self._woken.set()

"""Token-bucket rate limits per end-user token and per client address: a per-process filter, then the database's."""
from __future__ import annotations

import itertools
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable

from core.clock import Clock
from core.db import Database, write_deadline
from core.errors import DatabaseBusy
from core.rate_limits import RateLimits

log = logging.getLogger(__name__)

# How long counting in the shared buckets may wait for another process's write lock before it is skipped.
SHARED_COUNT_WAIT_SECONDS = 0.2


class RateLimiter:
    """Allows `per_minute` requests per key, refilled evenly; a burst of `per_minute` is allowed.

    Kept in this process's memory: a fast first filter that turns a flood away before it costs a database write.
    """

    # Above this many keys, full buckets (idle keys) are dropped so memory stays bounded.
    MAX_KEYS = 50_000

    def __init__(self, per_minute: int, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(max(1, per_minute))
        self.rate = self.capacity / 60.0
        self._monotonic = monotonic
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float:
        """Take one request for key: 0.0 when allowed, else the seconds to wait before the next one is."""
        now = self._monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > self.MAX_KEYS:
                    self._prune(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        for key, (tokens, last) in list(self._buckets.items()):
            if tokens + (now - last) * self.rate >= self.capacity:
                del self._buckets[key]


class SharedRateLimits:
    """The limits that hold across processes: core.rate_limits' buckets, one short transaction per request.

    Synchronous (call it in a worker thread). Every PRUNE_EVERY requests, full buckets are deleted so the table
    holds only keys seen in the last minute.
    """

    PRUNE_EVERY = 1000

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._count = itertools.count(1)

    def hit(self, limits: Iterable[tuple[str, int]]) -> float:
        """Take one request for each (key, per_minute): 0.0 when allowed, else the seconds to wait.

        While another process holds the write lock, counting is skipped after a short wait and the request is let
        through on this process's own buckets: bookkeeping must never make reads wait on the lock or fail.
        """
        try:
            with write_deadline(time.monotonic() + SHARED_COUNT_WAIT_SECONDS), self.db.session() as session:
                wait = RateLimits(session, self.clock).take(limits)
                if next(self._count) % self.PRUNE_EVERY == 0:
                    log.debug("rate limit buckets pruned", extra={"rows": RateLimits(session, self.clock).prune()})
        except DatabaseBusy:
            log.warning("shared rate limits not counted: the database is busy; the per-process limits still apply")
            return 0.0
        return wait


def retry_after_header(wait_seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(wait_seconds)))}

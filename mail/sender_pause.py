"""The sender's pause after a server-wide SMTP failure: when to try the server again, until an email goes through."""
from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from mail.backoff import Backoff

# A paused sender tries again after about BASE seconds, doubling per failed try up to CAP: once an admin fixed
# the server or the password, queued emails go out within CAP seconds at worst.
PAUSE_BASE_SECONDS = 30.0
PAUSE_MAX_SECONDS = 600.0


class SenderPause:
    """Pure state (time is passed in): fail() starts or extends a pause, succeed() ends it and resets the backoff."""

    def __init__(self, rng: Callable[[], float] = random.random, *, base: float = PAUSE_BASE_SECONDS,
                 cap: float = PAUSE_MAX_SECONDS) -> None:
        self._backoff = Backoff(base, cap, rng)
        self.reason: str | None = None
        self.since: datetime | None = None
        self.until: datetime | None = None

    @property
    def failures(self) -> int:
        """Failed tries in a row: 0 when the sender is not paused."""
        return self._backoff.failures

    @property
    def active(self) -> bool:
        return self.failures > 0

    def blocks(self, now: datetime) -> bool:
        """Whether the sender must not try the server yet (once this is False a paused sender makes one try)."""
        return self.until is not None and now < self.until

    def seconds_left(self, now: datetime) -> float:
        return max(0.0, (self.until - now).total_seconds()) if self.until is not None else 0.0

    def fail(self, reason: str, now: datetime) -> bool:
        """A server-wide failure at now: wait longer before the next try; True when this starts a pause."""
        started = not self.active
        self.reason = reason
        self.since = self.since or now
        # Jittered: several processes paused by one outage do not all come back in the same second.
        self.until = now + timedelta(seconds=self._backoff.next_delay())
        return started

    def succeed(self) -> bool:
        """The server took an email (or a probe): the pause ends; True when there was one."""
        was_active = self.active
        self._backoff.reset()
        self.reason = self.since = self.until = None
        return was_active

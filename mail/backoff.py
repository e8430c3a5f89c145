"""Waiting between tries: doubling waits with jitter (IMAP reconnects, the SMTP pause), cut short by a stop."""
from __future__ import annotations

import asyncio
import random as _random
from collections.abc import Callable

from core.outbox import backoff_delay

# Past this many failures every wait is at the cap anyway; counting further would make core's 2 ** n overflow a
# float (OverflowError) in a long outage, so the attempt number handed to it stops here.
_MAX_COUNTED_FAILURES = 64


class Backoff:
    """next_delay() after each failure; reset() once something worked, so a later outage starts small again.

    The formula is core.outbox.backoff_delay (equal jitter, the outbox's own retries use it too), so the poller,
    the sender's pause and outbox retries spread out the same way.
    """

    def __init__(self, base: float, cap: float, random: Callable[[], float] = _random.random) -> None:
        self.base = base
        self.cap = cap
        self.random = random
        self.failures = 0

    def next_delay(self) -> float:
        """The wait before the next attempt: the capped doubling step, jittered into its upper half."""
        self.failures += 1
        return backoff_delay(min(self.failures, _MAX_COUNTED_FAILURES), self.random, self.base, self.cap)

    def reset(self) -> None:
        self.failures = 0


async def stop_requested_within(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to seconds between tries, waking early when stop is set; True when it was."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
        return True
    except TimeoutError:
        return False

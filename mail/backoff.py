"""How long the IMAP poller waits before reconnecting: doubling delays with jitter, reset after a session worked."""
from __future__ import annotations

import random as _random
from typing import Callable


class ReconnectBackoff:
    """next_delay() after each failed session; reset() once a session has worked, so a later outage starts small."""

    def __init__(self, base: float, cap: float, random: Callable[[], float] = _random.random) -> None:
        self.base = base
        self.cap = cap
        self.random = random
        self.failures = 0

    def next_delay(self) -> float:
        """The wait before the next attempt: the capped doubling step, jittered into its upper half."""
        self.failures += 1
        # The exponent stops growing once the cap is reached: 2 ** n of a long outage would overflow a float.
        step = self.base * 2 ** min(self.failures - 1, 64)
        delay = min(self.cap, step)
        # Jitter keeps several processes that lost the same server from reconnecting in lockstep.
        return delay / 2 + self.random() * delay / 2

    def reset(self) -> None:
        self.failures = 0

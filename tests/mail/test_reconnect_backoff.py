"""The reconnect backoff: doubling delays with jitter, capped, starting over once a session has worked."""
from __future__ import annotations

from mail.backoff import Backoff


def test_delays_double_up_to_the_cap_with_jitter_in_the_upper_half():
    highest = Backoff(base=0.5, cap=4.0, random=lambda: 1.0)
    assert [highest.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    lowest = Backoff(base=0.5, cap=4.0, random=lambda: 0.0)
    assert [lowest.next_delay() for _ in range(5)] == [0.25, 0.5, 1.0, 2.0, 2.0]


def test_reset_starts_over_at_the_first_step():
    backoff = Backoff(base=0.5, cap=60.0, random=lambda: 1.0)
    for _ in range(8):
        backoff.next_delay()
    assert backoff.failures == 8
    backoff.reset()
    assert backoff.failures == 0 and backoff.next_delay() == 0.5


def test_many_failures_do_not_overflow():
    backoff = Backoff(base=0.5, cap=60.0, random=lambda: 1.0)
    for _ in range(5000):
        delay = backoff.next_delay()
    assert delay == 60.0

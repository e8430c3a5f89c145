"""Typing and viewing throttles and expiry as pure rules, driven by an injected clock."""
from __future__ import annotations

from datetime import timedelta

from core.activity_rules import (
    PREVIEW_CHARS,
    TYPING_TTL,
    TYPING_WRITE_INTERVAL,
    VIEWING_WRITE_INTERVAL,
    ActivityThrottle,
    is_live,
    preview_text,
)
from core.clock import FixedClock


def test_a_fast_typist_writes_once_per_interval_not_per_keystroke():
    clock, throttle = FixedClock(), ActivityThrottle()
    writes = 0
    for _keystroke in range(100):  # 100 keystrokes, 0.1 s apart: 10 s of typing
        writes += throttle.typed(clock.now(), True)
        clock.advance(0.1)
    assert writes == 10 // TYPING_WRITE_INTERVAL.seconds


def test_starting_and_stopping_are_written_at_once():
    clock, throttle = FixedClock(), ActivityThrottle()
    assert throttle.typed(clock.now(), True)
    clock.advance(0.1)
    assert not throttle.typed(clock.now(), True)
    assert throttle.typed(clock.now(), False)  # cleared (or sent): followers must stop showing it now
    assert not throttle.typed(clock.now(), False)  # nothing new to say
    assert throttle.typed(clock.now(), True)  # typing again is a change, even within the interval


def test_a_report_expires_after_its_ttl():
    clock = FixedClock()
    until = clock.now() + TYPING_TTL
    assert is_live(until, clock.now())
    clock.advance(TYPING_TTL - timedelta(milliseconds=1))
    assert is_live(until, clock.now())
    clock.advance(timedelta(milliseconds=1))
    assert not is_live(until, clock.now())
    assert not is_live(None, clock.now())


def test_typing_refreshes_viewing_and_viewing_is_throttled():
    clock, throttle = FixedClock(), ActivityThrottle()
    assert throttle.viewed(clock.now())
    clock.advance(VIEWING_WRITE_INTERVAL - timedelta(seconds=1))
    assert not throttle.viewed(clock.now())
    assert throttle.typed(clock.now(), True)
    clock.advance(VIEWING_WRITE_INTERVAL - timedelta(seconds=1))
    assert not throttle.viewed(clock.now())  # the typing report counted as a viewing refresh
    clock.advance(timedelta(seconds=1))
    assert throttle.viewed(clock.now())


def test_leaving_makes_the_next_report_a_change():
    clock, throttle = FixedClock(), ActivityThrottle()
    throttle.typed(clock.now(), True)
    throttle.viewed(clock.now())
    throttle.left()
    assert throttle.viewed(clock.now())
    assert throttle.typed(clock.now(), True)


def test_preview_keeps_the_end_of_long_text():
    text = "a" * PREVIEW_CHARS + "the end"
    assert preview_text(text).endswith("the end")
    assert len(preview_text(text)) == PREVIEW_CHARS
    assert preview_text("  hi  ") == "hi"
    assert preview_text("a\x00b\x1b[31mc\ud800") == "abc?"  # storable on PostgreSQL too

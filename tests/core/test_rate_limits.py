"""Rate limit buckets in the database: refill evenly, shared by every session, pruned when full."""
from __future__ import annotations

import concurrent.futures

from sqlmodel import func, select

from core.rate_limits import RateLimitBucket, RateLimits


def _take(db, clock, *limits) -> float:
    with db.session() as session:
        return RateLimits(session, clock).take(limits)


def test_a_bucket_allows_its_burst_then_refills_evenly(db, clock):
    assert [_take(db, clock, ("ip:a", 3)) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = _take(db, clock, ("ip:a", 3))
    assert 19.9 <= wait <= 20.0  # 3 per minute: one every 20 seconds
    assert _take(db, clock, ("ip:b", 3)) == 0.0  # other keys are not held back
    clock.advance(20)
    assert _take(db, clock, ("ip:a", 3)) == 0.0 and _take(db, clock, ("ip:a", 3)) > 0


def test_several_keys_are_taken_in_one_transaction_and_the_longest_wait_wins(db, clock):
    assert _take(db, clock, ("ip:a", 60), ("user:1", 1)) == 0.0
    assert 59 <= _take(db, clock, ("ip:a", 60), ("user:1", 1)) <= 60


def test_concurrent_sessions_never_allow_more_than_the_burst(db, clock):
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        waits = list(pool.map(lambda _n: _take(db, clock, ("ip:crowd", 10)), range(40)))
    assert waits.count(0.0) == 10


def test_full_buckets_are_pruned(db, clock):
    _take(db, clock, ("ip:old", 5))
    clock.advance(30)
    _take(db, clock, ("ip:recent", 5))
    clock.advance(40)
    with db.session() as session:
        assert RateLimits(session, clock).prune() == 1
        assert session.exec(select(RateLimitBucket.key)).all() == ["ip:recent"]
        assert session.exec(select(func.count()).select_from(RateLimitBucket)).one() == 1


def test_new_keys_arriving_together_beside_a_held_one_are_all_counted_without_deadlock(db, clock):
    """The common request locks rows that exist; a new key makes it let go, insert, and lock all again in key order.
    Many first requests at once (a new end user's key beside their address's) must each be counted once."""
    _take(db, clock, ("ip:office", 1000))
    keys = [("ip:office", 1000), *[(f"user:{n}", 1000) for n in range(3)]]
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        waits = list(pool.map(lambda n: _take(db, clock, keys[0], keys[1 + n % 3]), range(30)))
    assert waits == [0.0] * 30
    with db.read_session() as session:
        tokens = {row.key: row.tokens for row in session.exec(select(RateLimitBucket))}
    assert tokens == {"ip:office": 1000 - 31, "user:0": 990, "user:1": 990, "user:2": 990}

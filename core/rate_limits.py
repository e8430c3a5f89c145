"""Rate limits held in the database: one token bucket row per key, so every process shares one budget."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from core.clock import Clock
from core.db import rows_changed
from core.models import MAX_RATE_LIMIT_KEY_CHARS as MAX_KEY_CHARS
from core.models import RateLimitBucket

# Buckets refill their whole capacity in one minute, so a row untouched for longer is the same as no row.
REFILL_SECONDS = 60.0


class RateLimits:
    """Takes one request from each key's bucket in one short transaction (rows locked in key order; a key seen for
    the first time adds a second one, to insert its row)."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def take(self, limits: Iterable[tuple[str, int]]) -> float:
        """For each (key, per_minute): take one request if the bucket holds one. Returns 0.0 when every key
        allowed it, else the seconds until the most starved key allows one; commits either way."""
        wanted = {key[:MAX_KEY_CHARS]: max(1, per_minute) for key, per_minute in limits}
        if not wanted:
            return 0.0
        now = self.clock.now()
        try:
            rows = self._lock(wanted)
            if len(rows) < len(wanted):
                # A key seen for the first time (rare): let go of the rows just locked, insert the missing ones,
                # and lock them all again in key order. Inserting first on every request was one more statement
                # per request; inserting while holding some locks could deadlock with a request inserting the
                # same new key.
                self.session.rollback()
                self._create_missing(wanted, now)
                rows = self._lock(wanted)
            wait = 0.0
            for row in rows:
                capacity = float(wanted[row.key])
                rate = capacity / REFILL_SECONDS
                # Another process's clock may be a little behind ours: time never runs backwards for a bucket.
                elapsed = max(0.0, (now - row.updated_at).total_seconds())
                tokens = min(capacity, row.tokens + elapsed * rate)
                if tokens >= 1.0:
                    tokens -= 1.0
                else:
                    wait = max(wait, (1.0 - tokens) / rate)
                row.tokens = tokens
                row.updated_at = max(now, row.updated_at)
                self.session.add(row)
            self.session.commit()
            return wait
        except BaseException:
            self.session.rollback()
            raise

    def _lock(self, wanted: dict[str, int]) -> list[RateLimitBucket]:
        query = (select(RateLimitBucket).where(col(RateLimitBucket.key).in_(wanted))
                 .order_by(col(RateLimitBucket.key)).with_for_update())
        return list(self.session.exec(query.execution_options(populate_existing=True)).all())

    def prune(self) -> int:
        """Drop buckets that have refilled completely (equivalent to no row); returns how many went."""
        cutoff = self.clock.now() - timedelta(seconds=REFILL_SECONDS + 1)
        try:
            result = self.session.execute(delete(RateLimitBucket).where(col(RateLimitBucket.updated_at) < cutoff))
            self.session.commit()
            return rows_changed(result)
        except BaseException:
            self.session.rollback()
            raise

    def _create_missing(self, wanted: dict[str, int], now: datetime) -> None:
        """Insert full buckets for new keys; two processes inserting the same key at once must not fail."""
        values = [
            {"key": key, "tokens": float(capacity), "updated_at": now} for key, capacity in sorted(wanted.items())
        ]
        dialect = self.session.get_bind().dialect.name
        if dialect in ("sqlite", "postgresql"):
            insert = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(RateLimitBucket)
            self.session.execute(insert.values(values).on_conflict_do_nothing(index_elements=["key"]))
            return
        existing = set(self.session.exec(select(RateLimitBucket.key).where(col(RateLimitBucket.key).in_(wanted))))
        for key, capacity in sorted(wanted.items()):
            if key not in existing:
                self.session.add(RateLimitBucket(key=key, tokens=float(capacity), updated_at=now))
        self.session.flush()

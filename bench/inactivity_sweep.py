"""Benchmark of the notification sweep over 1,000,000 conversations in a SQLite file: finding due work and claiming it.

Run: python bench/inactivity_sweep.py [--conversations 1000000] [--keep PATH]
Builds the database with SQLAlchemy Core executemany (one transaction per chunk), then measures
- sweep_none_due_ms: NotificationService.due() when nothing is due (the scheduler's idle check),
- sweep_1000_due_ms: due(limit=1000) when 1,000 conversations are due,
- claim_per_s: due conversations turned into outbox jobs per second by claim_due (5,000 of them),
and prints the database size. Each figure is printed as `name: value` with its target beside it.
"""
from __future__ import annotations

import argparse
import logging
import secrets
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from datetime import UTC

from sqlalchemy import insert

from core import schema
from core.agents import AgentService
from core.clock import FixedClock
from core.db import Database
from core.models import AuthorKind, Conversation, EndUser, Message, OutboxJob, VerifiedAddress
from core.notifications import NotificationService
from core.settings import SettingsService

TARGET_NONE_DUE_MS = 1.0
TARGET_1000_DUE_MS = 5.0
TARGET_CLAIM_PER_S = 2000.0

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
CONVERSATIONS_PER_END_USER = 10
SWEEP_DUE = 1_000         # due at T1, for sweep_1000_due_ms
CLAIM_DUE = 5_000         # due at T2 (including the 1,000 above), claimed for claim_per_s
SCHEDULED_LATER = 20_000  # due far in the future: rows in the index the sweep must not touch
CHUNK = 50_000

log = logging.getLogger("bench.inactivity_sweep")


def build(db: Database, total: int) -> dict[str, datetime]:
    """1,000,000 conversations, most with nothing to email; a few thousand with an unread agent reply."""
    clock = FixedClock(START)
    with db.session() as session:
        agent = AgentService(session, clock).add("bench", "Bench Agent")
        SettingsService(session, clock).update(continuous_conversations=True, support_address="help@example.com")
        agent_id = agent.id
    t1 = START + timedelta(hours=1)
    t2 = START + timedelta(hours=2)
    end_users = max(1, total // CONVERSATIONS_PER_END_USER)
    # Due conversations are spread over the id range; at most two share an end user (under the unverified limit).
    stride = max(1, total // (CLAIM_DUE + SCHEDULED_LATER))
    due_ids = {1 + i * stride: t1 - timedelta(seconds=i) if i < SWEEP_DUE else t2 - timedelta(seconds=i - SWEEP_DUE)
               for i in range(CLAIM_DUE)}
    later_ids = {1 + i * stride for i in range(CLAIM_DUE, CLAIM_DUE + SCHEDULED_LATER)}
    with db.engine.begin() as connection:
        rows = []
        for index in range(1, end_users + 1):
            # Half the addresses are unproven, so the claim also pays for the flood guard's lookup.
            rows.append(dict(id=index, public_id=secrets.token_urlsafe(12), name=None, email=f"user{index}@example.com",
                             email_verified=index % 2 == 0, email_failing=False, language_set_by_agent=False,
                             blocked=False, created_at=START))
            if len(rows) == CHUNK:
                connection.execute(insert(EndUser), rows)
                rows = []
        if rows:
            connection.execute(insert(EndUser), rows)
        proofs = [dict(end_user_id=index, address=f"user{index}@example.com", method="identify", verified_at=START)
                  for index in range(2, end_users + 1, 2)]
        for offset in range(0, len(proofs), CHUNK):
            connection.execute(insert(VerifiedAddress), proofs[offset:offset + CHUNK])
    for chunk_start in range(1, total + 1, CHUNK):
        conversations, messages = [], []
        for cid in range(chunk_start, min(total, chunk_start + CHUNK - 1) + 1):
            end_user_id = 1 + (cid - 1) % end_users
            due = due_ids.get(cid)
            if due is None and cid in later_ids:
                due = START + timedelta(days=30)
            has_reply = due is not None
            conversations.append(dict(
                id=cid, public_id=secrets.token_urlsafe(12), end_user_id=end_user_id, status="open",
                assignee_id=agent_id, language=None, channel="messaging", created_at=START, updated_at=START,
                last_seq=2 if has_reply else 1, last_message_at=START, last_message_channel="messaging",
                waiting_since=None, end_user_read_seq=1, agent_read_seq=2 if has_reply else 1, notified_seq=0,
                notify_due_at=due, end_user_last_seen_at=START, end_user_present=False, tags=[],
                notify_email=f"user{end_user_id}@example.com",
            ))
            messages.append(dict(conversation_id=cid, seq=1, author_kind=AuthorKind.end_user, author_agent_id=None,
                                 author_end_user_id=end_user_id, body="Hello?", channel="messaging",
                                 created_at=START, email_fallback=False, kind="text"))
            if has_reply:
                reply_at = (due or START) - timedelta(minutes=5)
                messages.append(dict(conversation_id=cid, seq=2, author_kind=AuthorKind.agent, author_agent_id=agent_id,
                                     author_end_user_id=None, body="An answer", channel="messaging",
                                     created_at=min(reply_at, START + timedelta(days=1)), email_fallback=True,
                                     kind="text"))
        with db.engine.begin() as connection:
            connection.execute(insert(Conversation), conversations)
            connection.execute(insert(Message), messages)
    with db.engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
    return {"t0": START + timedelta(minutes=30), "t1": t1, "t2": t2}


def median_ms(run, repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        began = time.perf_counter()
        run()
        timings.append((time.perf_counter() - began) * 1000)
    return statistics.median(timings)


def measure_sweeps(db: Database, times: dict[str, datetime]) -> tuple[float, float]:
    with db.read_session() as session:
        service = NotificationService(session, FixedClock(times["t0"]))
        assert service.due(times["t0"]) == [], "nothing should be due before T1"
        none_due = median_ms(lambda: service.due(times["t0"]), 500)
        found = service.due(times["t1"], limit=1000)
        assert len(found) == SWEEP_DUE, f"expected {SWEEP_DUE} due, found {len(found)}"
        thousand_due = median_ms(lambda: service.due(times["t1"], limit=1000), 100)
    return none_due, thousand_due


def measure_claims(db: Database, times: dict[str, datetime]) -> tuple[float, int]:
    clock = FixedClock(times["t2"])
    claimed = 0
    began = time.perf_counter()
    with db.session() as session:
        service = NotificationService(session, clock)
        while True:
            jobs = service.claim_due(limit=250, worker="bench")
            if not jobs:
                break
            claimed += len(jobs)
    elapsed = time.perf_counter() - began
    with db.read_session() as session:
        from sqlmodel import func, select

        stored = session.exec(select(func.count()).select_from(OutboxJob)).one()
    return claimed / elapsed, stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="build the database at this path and keep it")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as folder:
        path = args.keep or Path(folder) / "sweep.db"
        db = Database(f"sqlite:///{path}")
        schema.upgrade(db.engine)
        began = time.perf_counter()
        times = build(db, args.conversations)
        build_s = time.perf_counter() - began
        none_due, thousand_due = measure_sweeps(db, times)
        claim_per_s, stored = measure_claims(db, times)
        with db.engine.begin() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        size_mb = path.stat().st_size / 1e6
        db.dispose()
    print(f"conversations: {args.conversations} (built in {build_s:.1f} s)")
    print(f"sweep_none_due_ms: {none_due:.3f} (target < {TARGET_NONE_DUE_MS:g})")
    print(f"sweep_1000_due_ms: {thousand_due:.3f} (target < {TARGET_1000_DUE_MS:g})")
    print(f"claim_per_s: {claim_per_s:.0f} (target >= {TARGET_CLAIM_PER_S:.0f}; {stored} jobs, one per due batch, "
          f"{CLAIM_DUE} expected, half the addresses unverified)")
    print(f"database_size_mb: {size_mb:.1f} (reference; no target)")
    if stored != min(CLAIM_DUE, args.conversations):
        sys.exit(f"expected {CLAIM_DUE} jobs, found {stored}")


if __name__ == "__main__":
    main()

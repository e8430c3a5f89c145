"""The daily cap on an unproven address holds across processes: two `serve` processes on one database, forty
end users who each typed the same stranger's address, three emails reach that address (issue 11, finding 3)."""
from __future__ import annotations

import signal
import time
from datetime import timedelta
from pathlib import Path

from sqlmodel import func, select

from core.clock import SystemClock
from core.db import Database
from core.models import Conversation, OutboxJob
from tests.system.processes import SmtpSink, seed_due_notifications, stop, threadline, wait_for_log, write_config

VICTIM = "victim@example.org"
PEOPLE = 40


def _settled(db: Database) -> tuple[int, int]:
    """(notification jobs, conversations deferred by the cap); together PEOPLE once both processes are done."""
    later = SystemClock().now() + timedelta(hours=1)
    with db.read_session() as session:
        jobs = session.exec(select(func.count()).select_from(OutboxJob)).one()
        deferred = session.exec(select(func.count()).select_from(Conversation)
                                .where(Conversation.notify_due_at > later)).one()
    return jobs, deferred


def test_two_serve_processes_send_an_unproven_address_three_notifications_in_all(db: Database, tmp_path: Path) -> None:
    # Due a few seconds from now: both processes have started and sleep until the same due time, then claim at once.
    seed_due_notifications(db, PEOPLE, shared_address=VICTIM, due_in=timedelta(seconds=4))
    with SmtpSink() as sink:
        config = write_config(tmp_path, db.url, sink.port)
        processes = [threadline(config, "serve", "--no-widget", "--worker-id", f"cap-{n}",
                                log_path=tmp_path / f"serve-{n}.log") for n in (1, 2)]
        try:
            for n, process in zip((1, 2), processes, strict=True):
                wait_for_log(tmp_path / f"serve-{n}.log", r"msg=started", process)
            deadline = time.monotonic() + 60
            while sum(_settled(db)) < PEOPLE and time.monotonic() < deadline:
                time.sleep(0.1)
            assert sink.handler.wait_for(lambda received: len(received) >= 3, 30)
        finally:
            codes = [stop(process, signal.SIGTERM) for process in processes]
        assert codes == [0, 0], [(tmp_path / f"serve-{n}.log").read_text() for n in (1, 2)]
        received = list(sink.handler.received)
    assert _settled(db) == (3, PEOPLE - 3)
    assert [d.recipient for d in received] == [VICTIM] * 3

"""`threadline serve` as a process: health, graceful SIGTERM, SIGKILL and restart, two processes on one PostgreSQL."""
from __future__ import annotations

import collections
import json
import os
import re
import signal
import time
import urllib.request
from pathlib import Path

import pytest

from core.db import Database
from tests.system.processes import (
    ImapInThread,
    SmtpSink,
    outbox_counts,
    seed_due_notifications,
    stop,
    threadline,
    wait_for_url,
    write_config,
)


def _recipients(received) -> collections.Counter:
    return collections.Counter(d.recipient for d in received)


def test_health_then_sigterm_records_the_email_in_flight_and_exits_0(db: Database, tmp_path: Path) -> None:
    seed_due_notifications(db, 40)
    with SmtpSink(delay=0.05) as sink:
        config = write_config(tmp_path, db.url, sink.port, sender_batch_size=10)
        log_path = tmp_path / "serve.log"
        serve = threadline(config, "serve", "--port", "0", log_path=log_path)
        try:
            url = wait_for_url(log_path, serve)
            with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
                health = json.load(response)
            assert response.status == 200
            push = health.pop("event_push")
            # SQLite has nobody to LISTEN to; on PostgreSQL the one LISTEN connection may still be connecting.
            assert push == "off" if db.url.startswith("sqlite") else push in ("listening", "reconnecting")
            assert health == {"status": "ok", "database": "ok", "workers": {"outbound": "alive"}, "problems": {}}
            assert sink.handler.wait_for(lambda received: len(received) >= 5, 20)
        finally:
            code = stop(serve, signal.SIGTERM)
        log = log_path.read_text()
        assert code == 0, log
        assert "stopped cleanly" in log and re.search(r"^ts=\S+ level=INFO logger=\S+ msg=", log, re.M)
        delivered = len(sink.handler.received)
    counts = outbox_counts(db)
    # Every email the relay accepted is recorded as sent, none is recorded that it did not get, none was lost.
    assert counts.get("sent", 0) == delivered and 5 <= delivered < 40
    assert counts.get("sent", 0) + counts.get("pending", 0) == 40
    assert max(_recipients(sink.handler.received).values()) == 1


def test_serve_runs_the_poller_when_imap_is_enabled_files_a_reply_and_stops_it_on_sigterm(
        db: Database, tmp_path: Path) -> None:
    seed_due_notifications(db, 1)
    with SmtpSink() as sink, ImapInThread({"support": "support-password"}) as imap:
        config = write_config(tmp_path, db.url, sink.port, imap_port=imap.port)
        log_path = tmp_path / "serve.log"
        serve = threadline(config, "serve", "--port", "0", log_path=log_path)
        try:
            url = wait_for_url(log_path, serve)
            assert sink.handler.wait_for(lambda received: len(received) == 1, 20)
            with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
                assert json.load(response)["workers"] == {"outbound": "alive", "inbound": "alive"}
            notification = sink.handler.received[0]
            reply = (f"From: User 0 <user0@example.org>\r\nTo: help@example.com\r\nSubject: Re: your question\r\n"
                     f"Message-ID: <reply-1@example.org>\r\nIn-Reply-To: {notification.message_id}\r\n"
                     f"References: {notification.message_id}\r\n\r\nGot it, thanks.\r\n").encode()
            imap.append("support", reply)
            assert _wait_for_email_reply(db, "Got it, thanks.", 20)
        finally:
            code = stop(serve, signal.SIGTERM)
        assert code == 0, log_path.read_text()


def _wait_for_email_reply(db: Database, text: str, timeout: float) -> bool:
    """Whether an end-user message via email with text shows up in the database before timeout (read from outside)."""
    from sqlmodel import select

    from core.models import Channel, Message

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.read_session() as session:
            bodies = session.exec(select(Message.body).where(Message.channel == Channel.email)).all()
        if any(body.startswith(text) for body in bodies):
            return True
        time.sleep(0.1)
    return False


def test_sigkill_mid_send_then_restart_sends_every_one_and_at_most_the_one_in_flight_twice(
        db: Database, tmp_path: Path) -> None:
    seed_due_notifications(db, 200)
    with SmtpSink(delay=0.01) as sink:
        # The default batch, one SMTP connection, and a short lease so the restart need not wait for the killed
        # process's leases. Results are recorded as they come, so the crash costs only the email in flight.
        config = write_config(tmp_path, db.url, sink.port, smtp_pool_size=1, sender_lease_seconds=1.0)
        first = threadline(config, "serve", "--no-widget", log_path=tmp_path / "first.log")
        try:
            assert sink.handler.wait_for(lambda received: len(received) >= 60, 30)
        finally:
            stop(first, signal.SIGKILL)
        killed_at = len(sink.handler.received)
        assert killed_at < 200, "the first process finished before it was killed; the test proves nothing"
        second = threadline(config, "serve", "--no-widget", log_path=tmp_path / "second.log")
        try:
            everyone = {f"user{i}@example.org" for i in range(200)}
            assert sink.handler.wait_for(lambda received: {d.recipient for d in received} >= everyone, 40), \
                (tmp_path / "second.log").read_text()
        finally:
            assert stop(second, signal.SIGTERM) == 0
        received = list(sink.handler.received)
    twice = [recipient for recipient, count in _recipients(received).items() if count > 1]
    assert len(twice) <= 1 and max(_recipients(received).values()) <= 2
    for recipient in twice:
        assert len({d.message_id for d in received if d.recipient == recipient}) == 1  # the same Message-ID
    assert outbox_counts(db) == {"sent": 200}


@pytest.mark.skipif(not os.environ.get("THREADLINE_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="needs THREADLINE_TEST_DATABASE_URL=postgresql+psycopg://... (tests/run sets it in its PostgreSQL phase)")
def test_two_serve_processes_on_one_postgresql_send_each_of_500_notifications_once(
        db: Database, tmp_path: Path) -> None:
    seed_due_notifications(db, 500)
    # Each process keeps at most two SMTP connections (pool_size 2), so holding every DATA until a third connection
    # arrives means the second process has leased jobs too, however slowly it started on a loaded machine.
    with SmtpSink(hold_until_connections=3) as sink:
        config = write_config(tmp_path, db.url, sink.port, smtp_pool_size=2, sender_batch_size=20)
        processes = [threadline(config, "serve", "--no-widget", "--worker-id", f"serve-{n}",
                                log_path=tmp_path / f"serve-{n}.log") for n in (1, 2)]
        try:
            assert sink.handler.wait_for(lambda received: len(received) >= 500, 60)
        finally:
            codes = [stop(process, signal.SIGTERM) for process in processes]
        assert codes == [0, 0]
        received = list(sink.handler.received)
    assert len(received) == 500
    assert set(_recipients(received).values()) == {1}
    assert len({d.message_id for d in received}) == 500
    assert outbox_counts(db) == {"sent": 500}
    # Both processes sent some (otherwise this would not show that leasing skips the other's rows).
    leased = _leased_by_worker(db)
    assert set(leased) == {"serve-1", "serve-2"} and sum(leased.values()) == 500, leased


def _leased_by_worker(db: Database) -> dict[str, int]:
    from sqlmodel import select

    from core.models import Event

    counts: dict[str, int] = collections.Counter()
    with db.read_session() as session:
        for event in session.exec(select(Event).where(Event.kind == "notification.leased")):
            counts[event.payload["worker"]] += len(event.payload["job_ids"])
    return dict(counts)


def test_serve_on_an_empty_database_says_to_run_init_and_exits_1(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'empty.db'}", 25)
    log_path = tmp_path / "serve.log"
    assert threadline(config, "serve", "--port", "0", log_path=log_path).wait(30) == 1
    assert "is empty; create it first with: threadline init" in log_path.read_text()

"""One IMAP reader per mailbox: two `serve` processes on one database elect a reader; SIGKILL it and the other takes
over, and every email is filed exactly once."""
from __future__ import annotations

import collections
import json
import signal
import time
import urllib.request
from pathlib import Path

from sqlmodel import select

from core.clock import FixedClock
from core.db import Database
from core.models import InboundEmail, InboundOutcome, Message
from core.tokens import TokenSigner
from tests.system.processes import ImapInThread, SmtpSink, stop, threadline, wait_for_url, write_config
from threadline.inbound_testbed import make_world

SERVE_SECRET = "system-test-secret-0123456789"  # the secret write_config gives the serve processes
LEADER_TIMEOUT = 3.0  # seconds; short, so the test does not wait the default 30 s


def _health(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/healthz", timeout=10) as response:
        return json.load(response)


def _wait(predicate, timeout: float, what: str, logs: list[Path]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} within {timeout} s\n" + "\n".join(p.read_text(errors="replace") for p in logs))


def _filed(db: Database) -> list[InboundEmail]:
    with db.read_session() as session:
        return list(session.exec(select(InboundEmail)))


def test_the_reader_is_killed_another_process_takes_over_and_every_email_is_filed_once(db: Database, tmp_path: Path):
    world = make_world(db, FixedClock())
    world.signer = TokenSigner(SERVE_SECRET)  # reply tokens the serve processes accept
    with SmtpSink() as sink, ImapInThread({"support": "support-password"}) as imap:
        config = write_config(tmp_path, db.url, sink.port, imap_port=imap.port,
                              imap={"leader_timeout": LEADER_TIMEOUT, "keepalive": 10.0})
        logs = [tmp_path / "serve-1.log", tmp_path / "serve-2.log"]
        processes = [threadline(config, "serve", "--port", "0", log_path=log) for log in logs]
        try:
            urls = [wait_for_url(log, process, timeout=60) for log, process in zip(logs, processes, strict=True)]

            def readers() -> list[int]:
                return [n for n, (url, process) in enumerate(zip(urls, processes, strict=True))
                        if process.poll() is None and _health(url).get("imap_reader") == "this process"]

            _wait(lambda: len(readers()) == 1, 30, "one process reads the mailbox", logs)
            reader = readers()[0]
            standby = 1 - reader
            assert _health(urls[standby])["imap_reader"] == "standby"

            message_ids: list[str] = []

            def send(count: int) -> None:
                for _ in range(count):
                    raw = world.reply(f"reply {len(message_ids) + 1}")
                    message_ids.append(raw.split(b"Message-ID: ", 1)[1].split(b"\r\n", 1)[0].decode())
                    imap.append("support", raw)

            send(5)
            _wait(lambda: len(_filed(db)) >= 5, 30, "the reader filed the first 5 emails", logs)

            stop(processes[reader], signal.SIGKILL)
            send(5)  # arrive while nobody reads
            _wait(lambda: readers() == [standby], LEADER_TIMEOUT * 3 + 10, "the other process reads", logs)
            _wait(lambda: len(_filed(db)) >= 10, 30, "all 10 emails filed", logs)
            time.sleep(1.0)  # a second filing of any email would show up here
        finally:
            codes = [stop(process, signal.SIGTERM) for process in processes]
        assert codes[standby] == 0, logs[standby].read_text(errors="replace")

    filed = _filed(db)
    counts = collections.Counter(record.message_id for record in filed)
    assert sorted(counts) == sorted(message_ids) and set(counts.values()) == {1}, counts
    assert {record.outcome for record in filed} == {InboundOutcome.posted}
    with db.read_session() as session:
        bodies = [m.body for m in session.exec(select(Message).where(Message.conversation_id == world.conversation_id))]
    for n in range(1, 11):
        assert sum(body.startswith(f"reply {n}") and body.strip() == f"reply {n}" for body in bodies) == 1, bodies

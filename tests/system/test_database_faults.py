"""`threadline serve` under database faults: another process holding SQLite's write lock (writes 503 with Retry-After,
reads, the script and /healthz still served), damaged pages and a full disk (/healthz degraded, then ok again)."""
from __future__ import annotations

import concurrent.futures
import json
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from core import schema
from core.db import Database
from tests.fixtures.database_faults import (
    damaged_copy,
    fill_disk,
    sqlite_path,
    tiny_disk,
    write_lock_held_by_another_process,
)
from tests.system.processes import stop, threadline, wait_for_url, write_config

pytestmark = pytest.mark.sqlite_only(reason="SQLite's file lock, pages and disk; PostgreSQL has its own server")


def call(url: str, method: str = "GET", body: Any = None, token: str = "") -> tuple[int, dict[str, str], bytes]:
    """One HTTP request; (status, headers with lower-case names, body) for answers of any status."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


class Serve:
    """`threadline serve` on the database url, its widget on a free port."""

    def __init__(self, folder: Path, url: str, **config: Any) -> None:
        self.log = folder / "serve.log"
        self.process = threadline(write_config(folder, url, 25, **config), "serve", "--port", "0", log_path=self.log)
        self.url = wait_for_url(self.log, self.process)

    def start_conversation(self) -> tuple[str, str]:
        status, _headers, body = call(f"{self.url}/api/v1/conversations", "POST", {"name": "Ann"})
        assert status == 201, body
        started = json.loads(body)
        return started["token"], started["conversation"]["id"]

    def post(self, token: str, public_id: str, text: str) -> tuple[int, dict[str, str], bytes]:
        return call(f"{self.url}/api/v1/conversations/{public_id}/messages", "POST", {"body": text}, token)

    def health(self) -> tuple[int, dict[str, Any]]:
        status, _headers, body = call(f"{self.url}/healthz")
        return status, json.loads(body)

    def stop(self) -> int:
        return stop(self.process, signal.SIGTERM)


def test_under_another_processs_write_lock_writes_get_503_and_everything_else_is_served(db: Database, tmp_path: Path):
    serve = Serve(tmp_path, db.url, write_timeout=2.0)
    try:
        conversations = [serve.start_conversation() for _ in range(5)]  # 9 writes each, inside the rate limit
        with write_lock_held_by_another_process(sqlite_path(db.url)), \
                concurrent.futures.ThreadPoolExecutor(max_workers=70) as pool:
            writes = [pool.submit(serve.post, token, public_id, f"while locked {n}")
                      for n in range(45) for token, public_id in [conversations[n % 5]]]
            reads = [pool.submit(call, f"{serve.url}/api/v1/conversations/{public_id}/messages", "GET", None, token)
                     for token, public_id in conversations * 2]
            scripts = [pool.submit(call, f"{serve.url}/widget/threadline.js") for _ in range(5)]
            health = [pool.submit(serve.health) for _ in range(5)]
            # All answered while the lock is still held (the holder lets go only after this block).
            for read in reads:
                status, _headers, body = read.result(timeout=30)
                assert status == 200 and len(json.loads(body)["messages"]) == 0, body
            for script in scripts:
                status, _headers, body = script.result(timeout=30)
                assert status == 200 and b"threadline" in body.lower()
            for probe in health:
                assert probe.result(timeout=30) == (200, {"status": "ok", "database": "ok",
                                                          "workers": {"outbound": "alive"}, "problems": {},
                                                          "event_push": "off"})
            answers = [write.result(timeout=60) for write in writes]
        for status, headers, body in answers:
            assert status == 503, body
            assert json.loads(body)["error"]["code"] == "database_busy"
            assert headers["retry-after"] == "2"
        token, public_id = conversations[0]
        status, _headers, body = serve.post(token, public_id, "after the lock")
        assert status == 201, body
    finally:
        assert serve.stop() == 0, serve.log.read_text()
    with db.read_session() as session:
        from sqlmodel import func, select

        from core.models import Message

        # Nothing half-written by the refused requests: only the one accepted after the lock.
        assert session.exec(select(func.count()).select_from(Message)).one() == 1



def test_a_socket_whose_connected_report_met_a_busy_database_is_present_soon_after_it_frees(db: Database,
                                                                                            tmp_path: Path):
    """The "connected" report of a socket opened while another process holds the write lock is refused after
    write_timeout; it is retried, so the end user counts as present well before their first heartbeat (20 s)."""
    from sqlmodel import select
    from websockets.sync.client import connect

    from core.models import Conversation

    serve = Serve(tmp_path, db.url, write_timeout=1.0)
    try:
        token, public_id = serve.start_conversation()

        def present() -> bool:
            with db.read_session() as session:
                found = session.exec(select(Conversation).where(Conversation.public_id == public_id)).one()
                return found.end_user_present

        with write_lock_held_by_another_process(sqlite_path(db.url)) as holder, \
                connect(serve.url.replace("http://", "ws://") + f"/api/v1/conversations/{public_id}/live") as ws:
            ws.send(json.dumps({"type": "hello", "token": token, "after": 0}))
            assert json.loads(ws.recv(timeout=30))["type"] == "ready"
            deadline = time.monotonic() + 30
            while "presence connected" not in serve.log.read_text():
                assert time.monotonic() < deadline, serve.log.read_text()
                time.sleep(0.05)
            assert not present()
            holder.stdin.close()  # the other process lets go; the socket sends no heartbeat
            deadline = time.monotonic() + 10
            while not present():
                assert time.monotonic() < deadline, "the end user still counts as absent"
                time.sleep(0.1)
    finally:
        assert serve.stop() == 0, serve.log.read_text()

def test_a_write_onto_damaged_pages_turns_healthz_degraded(db: Database, tmp_path: Path):
    with db.session() as session:  # one conversation to write into, before the damage
        from core.clock import SystemClock
        from core.conversations import ConversationService

        service = ConversationService(session, SystemClock())
        end_user = service.create_end_user("Ann")
        service.start_conversation(end_user.id)
    damaged = damaged_copy(db.url, tmp_path, "message")
    serve = Serve(tmp_path, damaged)
    try:
        assert serve.health() == (200, {"status": "ok", "database": "ok", "workers": {"outbound": "alive"},
                                        "problems": {}, "event_push": "off"})
        token, public_id = serve.start_conversation()
        status, _headers, body = serve.post(token, public_id, "onto bad pages")
        assert status == 500, body  # the client learns nothing about the disk; the operator does:
        status, health = serve.health()
        assert status == 200 and health["status"] == "degraded"
        assert "damaged" in health["problems"]["database"] and "threadline doctor" in health["problems"]["database"]
    finally:
        assert serve.stop() == 0, serve.log.read_text()


def test_a_full_disk_turns_healthz_degraded_until_a_write_succeeds_again(tmp_path: Path):
    with tiny_disk("2m") as disk:
        url = f"sqlite:///{disk / 'threadline.db'}"
        database = Database(url)
        schema.upgrade(database.engine)
        database.dispose()
        serve = Serve(tmp_path, url)
        try:
            token, public_id = serve.start_conversation()
            filler = fill_disk(disk)
            answers = [serve.post(token, public_id, f"{n} " + "x" * 4000) for n in range(5)]
            assert {status for status, _headers, _body in answers} == {500}
            status, health = serve.health()
            assert status == 200 and health["status"] == "degraded"
            assert "disk is full" in health["problems"]["database"]
            filler.unlink()
            status, _headers, body = serve.post(token, public_id, "space again")
            assert status == 201, body
            assert serve.health() == (200, {"status": "ok", "database": "ok", "workers": {"outbound": "alive"},
                                            "problems": {}, "event_push": "off"})
        finally:
            assert serve.stop() == 0, serve.log.read_text()

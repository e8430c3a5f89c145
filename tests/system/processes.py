"""Helpers for system tests: run `threadline` subprocesses, an SMTP sink in a thread, and due notifications."""
from __future__ import annotations

import asyncio
import email
import email.policy
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from aiosmtpd.controller import Controller

from core.clock import SystemClock
from core.db import Database

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Delivery:
    recipient: str
    message_id: str


@dataclass
class SinkHandler:
    """Keeps (recipient, Message-ID) of every email; delay makes each send take a while (an email in flight)."""

    delay: float = 0.0
    # Hold every DATA until this many distinct connections have reached DATA (0: never hold), so a test can
    # prove that several processes share the work without depending on how fast each one starts.
    hold_until_connections: int = 0
    received: list[Delivery] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)
    connections: set = field(default_factory=set)
    _enough_connections: asyncio.Event | None = None

    async def _wait_for_connections(self, peer: object) -> None:
        if self._enough_connections is None:
            self._enough_connections = asyncio.Event()
        self.connections.add(peer)
        if len(self.connections) >= self.hold_until_connections:
            self._enough_connections.set()
        try:  # bounded, below the sender's 30 s SMTP timeout; the test's own assertions then tell what happened
            await asyncio.wait_for(self._enough_connections.wait(), 20)
        except TimeoutError:
            pass

    async def handle_DATA(self, server, session, envelope):
        if self.hold_until_connections:
            await self._wait_for_connections(session.peer)
        if self.delay:
            await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self.arrived:
            for recipient in envelope.rcpt_tos:
                self.received.append(Delivery(recipient, str(message["Message-ID"])))
            self.arrived.notify_all()
        return "250 2.0.0 OK"

    def wait_for(self, predicate, timeout: float) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: predicate(self.received), timeout)


def free_port() -> int:
    # aiosmtpd's Controller checks its server by connecting to the port it was given, so it needs a real one.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpSink:
    """aiosmtpd on 127.0.0.1 in its own thread; a stand-in for the organisation's mail relay."""

    def __init__(self, delay: float = 0.0, hold_until_connections: int = 0) -> None:
        self.handler = SinkHandler(delay, hold_until_connections)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=True)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def port(self) -> int:
        return self.controller.port


def write_config(folder: Path, database_url: str, smtp_port: int, *, imap_port: int = 0, smtp_pool_size: int = 2,
                 write_timeout: float | None = None, imap: dict[str, object] | None = None,
                 database: dict[str, object] | None = None, widget: dict[str, object] | None = None,
                 **mail: object) -> Path:
    """A TOML file for the subprocesses: the test database, the sink, a fixed secret (and IMAP when imap_port);
    imap, database and widget add keys to those sections."""
    database_lines = [f"write_timeout = {write_timeout}"] if write_timeout is not None else []
    database_lines += [f"{key} = {value!r}" for key, value in (database or {}).items()]
    lines = ["[general]", f'data_dir = "{folder}"', 'secret = "system-test-secret-0123456789"', "",
             "[database]", f'url = "{database_url}"', *database_lines, "", "[smtp]", f"port = {smtp_port}",
             f"pool_size = {smtp_pool_size}", "",
             "[widget]", 'public_url = "http://support.example.com"',
             *[f"{key} = {value!r}" for key, value in (widget or {}).items()], ""]
    if imap_port:
        lines += ["[imap]", "enabled = true", f"port = {imap_port}", 'username = "support"',
                  'password = "support-password"', *[f"{key} = {value!r}" for key, value in (imap or {}).items()], ""]
    lines += ["[mail]"]
    lines += [
        f"{key} = {value!r}" if not isinstance(value, str) else f'{key} = "{value}"' for key, value in mail.items()
    ]
    path = folder / "threadline.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def threadline(config: Path, *args: str, log_path: Path | None = None,
               extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")} | (extra_env or {})
    output = open(log_path, "wb") if log_path else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-m", "threadline", "--config", str(config), *args],
                            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)


def wait_for_log(path: Path, pattern: str, process: subprocess.Popen, timeout: float = 30.0) -> re.Match:
    """Read the process's log until pattern shows up (the process writes it once it listens)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(pattern, path.read_text(errors="replace")) if path.exists() else None
        if found:
            return found
        assert process.poll() is None, path.read_text(errors="replace")
        time.sleep(0.05)
    raise AssertionError(f"{pattern!r} not logged:\n{path.read_text(errors='replace')}")


def wait_for_url(path: Path, process: subprocess.Popen, timeout: float = 30.0) -> str:
    """The widget server's address, once the process logs that it listens."""
    return wait_for_log(path, r"web server listening\" url=(\S+)", process, timeout).group(1)


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
    if process.poll() is None:
        process.send_signal(sig)
    return process.wait(timeout)


def seed_due_notifications(db: Database, count: int, *, shared_address: str | None = None,
                           due_in: timedelta = timedelta(seconds=-1)) -> None:
    """count conversations whose one unread agent reply is due to be emailed after due_in (now by default), each of
    its own end user with a proven address; with shared_address, all of them typed that one address, unproven."""
    from core.agents import AgentService
    from core.models import AuthorKind, Conversation, EndUser, Message, VerifiedAddress
    from core.settings import SettingsService

    clock = SystemClock()
    with db.session() as session:
        SettingsService(session, clock).update(support_address="help@example.com", brand_name="System Test",
                                               continuous_conversations=True)
        agent = AgentService(session, clock).add("sys", "System Agent")
    now = clock.now()
    with db.session() as session:
        users = [EndUser(name=f"User {i}", email=shared_address or f"user{i}@example.org",
                         email_verified=shared_address is None, language="en", created_at=now) for i in range(count)]
        session.add_all(users)
        session.flush()
        if shared_address is None:
            session.add_all([VerifiedAddress(end_user_id=u.id, address=u.email, method="identify", verified_at=now)
                             for u in users])
        conversations = [Conversation(end_user_id=u.id, created_at=now, updated_at=now, last_seq=2,
                                      notify_due_at=now + due_in, notify_email=u.email) for u in users]
        session.add_all(conversations)
        session.flush()
        for c in conversations:
            session.add(Message(conversation_id=c.id, seq=1, author_kind=AuthorKind.end_user,
                                author_end_user_id=c.end_user_id, body="Where is my order?",
                                created_at=now - timedelta(hours=1)))
            session.add(Message(conversation_id=c.id, seq=2, author_kind=AuthorKind.agent, author_agent_id=agent.id,
                                body="It shipped this morning.", created_at=now - timedelta(minutes=59)))
        session.commit()


def outbox_counts(db: Database) -> dict[str, int]:
    from sqlalchemy import func
    from sqlmodel import select

    from core.models import OutboxJob

    with db.read_session() as session:
        return {str(getattr(status, "value", status)): count for status, count in
                session.exec(select(OutboxJob.status, func.count()).group_by(OutboxJob.status))}


class ImapInThread:
    """threadline.embedded_imap on its own event loop in a thread, so a test can hold it beside subprocesses."""

    def __init__(self, users: dict[str, str]) -> None:
        from threadline.embedded_imap import EmbeddedImap

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="imap-test-server", daemon=True)
        self.imap = EmbeddedImap(users)

    def __enter__(self) -> ImapInThread:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.imap.start(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.imap.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    @property
    def port(self) -> int:
        return self.imap.port

    def append(self, user: str, raw: bytes) -> None:
        asyncio.run_coroutine_threadsafe(self.imap.append(user, raw), self.loop).result(10)

"""A real support mailbox and a seeded conversation to reply to, for the inbound mail tests and
bench/inbound_latency.py.

The mailbox is an embedded pymap server, or THREADLINE_TEST_IMAP=host:port:user:password (e.g. Dovecot): that
mailbox is emptied first, and a small TCP relay sits in front of it so a test can drop the poller's connection the
way a network failure would.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.utils import format_datetime
from typing import Any

from aioimaplib import aioimaplib

from core.clock import FixedClock
from core.config import Config
from core.conversations import ConversationService
from core.db import Database
from core.models import OutboxJob, OutboxStatus
from core.settings import SettingsService
from core.tokens import TokenSigner
from mail.notification_content import stored_id
from threadline.embedded_imap import EmbeddedImap

TEST_IMAP = os.environ.get("THREADLINE_TEST_IMAP", "")
SECRET = "inbound-test-secret-0123456789"  # noqa: S105 - token secret of a throwaway test database
SUPPORT = "help@example.com"


class Relay:
    """A TCP relay to an external IMAP server whose connections a test can cut."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.port = 0
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except Exception:  # noqa: BLE001, S110 - either side hanging up ends the pipe; finally closes the other
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    def drop_connections(self) -> int:
        writers = list(self._writers)
        for writer in writers:
            writer.transport.abort()
        return len(writers)

    async def stop(self) -> None:
        self.drop_connections()
        if self._server is not None:
            self._server.close()


@dataclass
class ImapTarget:
    """Where the poller connects, and how a test delivers mail and cuts the line."""

    host: str
    port: int
    user: str
    password: str
    embedded: EmbeddedImap | None = None
    relay: Relay | None = None
    _appender: aioimaplib.IMAP4 | None = None

    async def append(self, raw: bytes) -> None:
        if self.embedded is not None:
            await self.embedded.append(self.user, raw)
            return
        if self._appender is None:
            host, port, user, password = TEST_IMAP.split(":", 3)
            self._appender = aioimaplib.IMAP4(host=host, port=int(port), timeout=10)
            await self._appender.wait_hello_from_server()
            await self._appender.login(user, password)
        response = await self._appender.append(raw, mailbox="INBOX")
        if response.result != "OK":
            raise RuntimeError(f"APPEND to the external IMAP server failed: {response.lines}")

    def drop_connections(self) -> int:
        if self.embedded is not None:
            return self.embedded.drop_connections()
        if self.relay is None:
            raise RuntimeError("the testbed is not started: neither an embedded server nor a relay")
        return self.relay.drop_connections()

    def imap_config(self, config: Config, **changes: Any) -> Config:
        config.imap.enabled = True
        config.imap.host, config.imap.port = self.host, self.port
        config.imap.username, config.imap.password = self.user, self.password
        config.imap.tls = "none"
        for key, value in changes.items():
            setattr(config.imap, key, value)
        return config


async def _empty_external_mailbox(host: str, port: int, user: str, password: str) -> None:
    client = aioimaplib.IMAP4(host=host, port=port, timeout=10)
    await client.wait_hello_from_server()
    await client.login(user, password)
    await client.select("INBOX")
    await client.store("1:*", "+FLAGS.SILENT (\\Deleted)")
    await client.expunge()
    await client.logout()


@contextlib.asynccontextmanager
async def open_imap_target(idle: bool) -> AsyncIterator[ImapTarget]:
    """One ImapTarget: embedded pymap (with or without IDLE), or THREADLINE_TEST_IMAP behind a Relay (IDLE only)."""
    if TEST_IMAP:
        if not idle:
            raise ValueError("a server without IDLE needs the embedded pymap server")
        host, port, user, password = TEST_IMAP.split(":", 3)
        await _empty_external_mailbox(host, int(port), user, password)
        relay = Relay(host, int(port))
        await relay.start()
        target = ImapTarget("127.0.0.1", relay.port, user, password, relay=relay)
        yield target
        if target._appender is not None:
            await target._appender.logout()
        await relay.stop()
        return
    async with EmbeddedImap({"support": "support-pw", "enduser": "enduser-pw"}, idle=idle) as server:
        yield ImapTarget(server.host, server.port, "support", "support-pw", embedded=server)


@dataclass
class InboundWorld:
    """An account, an end user with an address, a conversation, and the sent notification a reply answers."""

    db: Database
    clock: FixedClock
    signer: TokenSigner
    config: Config
    end_user_id: int = 0
    end_user_email: str = "maria@example.org"
    conversation_id: int = 0
    sent_message_id: str = ""
    counter: int = field(default=0)

    def reply_to(self, conversation_id: int | None = None) -> str:
        token = self.signer.reply_token(conversation_id or self.conversation_id)
        local, _at, domain = SUPPORT.partition("@")
        return f"{local}+{token}@{domain}"

    def reply(self, body: str = "Thanks, that fixed it.", *, sender: str | None = None, to: str | None = None,
              headers_only: bool = False, message_id: str | None = None, extra: str = "") -> bytes:
        """A plain-text reply as a mail client writes it, quoting the notification."""
        self.counter += 1
        message_id = message_id or f"<{uuid.uuid4().hex}@mail.example.org>"
        recipient = SUPPORT if headers_only else (to or self.reply_to())
        when = format_datetime(self.clock.now())
        return (
            f"From: Maria <{sender or self.end_user_email}>\r\n"
            f"To: {recipient}\r\n"
            f"Subject: Re: Your conversation with Acme Help\r\n"
            f"Date: {when}\r\n"
            f"Message-ID: {message_id}\r\n"
            f"In-Reply-To: {self.sent_message_id}\r\n"
            f"References: {self.sent_message_id}\r\n"
            f"MIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n"
            f"{extra}"
            f"\r\n"
            f"{body}\r\n\r\n"
            f"On Tue, 3 Mar 2026 at 10:00, Acme Help <{SUPPORT}> wrote:\r\n"
            f"> Hello Maria, here is our answer.\r\n"
        ).encode()


def make_world(db: Database, clock: FixedClock, config: Config | None = None,
               sent_message_id: str | None = None) -> InboundWorld:
    config = config or Config()
    signer = TokenSigner(SECRET)
    world = InboundWorld(db=db, clock=clock, signer=signer, config=config)
    with db.session() as session:
        SettingsService(session, clock).update(support_address=SUPPORT, brand_name="Acme Help")
        conversations = ConversationService(session, clock)
        end_user = conversations.create_end_user("Maria", world.end_user_email)
        conversation = conversations.start_conversation(stored_id(end_user))
        conversations.post_end_user_message(stored_id(conversation), "My invoice is wrong.")
        world.end_user_id, world.conversation_id = stored_id(end_user), stored_id(conversation)
        world.sent_message_id = (
            sent_message_id or f"<{signer.reply_token(stored_id(conversation))}.{uuid.uuid4().hex[:16]}@example.com>"
        )
        job = OutboxJob(conversation_id=conversation.id, to_address=world.end_user_email,
                        message_id=world.sent_message_id, status=OutboxStatus.sent,
                        idempotency_key=f"test-{uuid.uuid4().hex}", next_attempt_at=clock.now(),
                        created_at=clock.now(), sent_at=clock.now())
        session.add(job)
        session.commit()
    return world

"""Benchmark of the outbound path: 2,000 due notifications claimed, composed, sent and recorded, against a bare SMTP
loop.

Run: python bench/outbound.py [--count 2000] [--pool N]. An aiosmtpd server runs in its own process on loopback.
Prints `name: value` lines with the target beside each figure.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_EMAILS_PER_S = 400.0
TARGET_RATIO = 0.8


def serve() -> None:
    """The SMTP server process: accept and drop every email, print the port, run until stdin closes."""
    from aiosmtpd.smtp import SMTP

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            return "250 2.0.0 OK"

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTP(Sink(), enable_SMTPUTF8=True, loop=loop), "127.0.0.1", 0)
        print(server.sockets[0].getsockname()[1], flush=True)
        await loop.run_in_executor(None, sys.stdin.read)
        server.close()

    asyncio.run(main())


def seed(db, clock, signer, count: int) -> None:
    """count conversations, each with one unread agent message and its due outbox job (one transaction)."""
    from core.agents import AgentService
    from core.models import AuthorKind, Conversation, EndUser, Message, OutboxJob
    from core.outbox import notification_message_id
    from core.settings import SettingsService

    with db.session() as session:
        SettingsService(session, clock).update(support_address="help@example.com", brand_name="Bench Help")
        agent = AgentService(session, clock).add("bench", "Bench Agent")
    now = clock.now()
    languages = ["en", "de", "fr", "es", "pt-BR", "ja", "pl", "ar"]
    with db.session() as session:
        users = [EndUser(name=f"User {i}", email=f"user{i}@example.org", language=languages[i % len(languages)],
                         timezone="Europe/Berlin", created_at=now) for i in range(count)]
        session.add_all(users)
        session.flush()
        conversations = [
            Conversation(end_user_id=u.id, created_at=now, updated_at=now, last_seq=2, notify_email=u.email)
            for u in users
        ]
        session.add_all(conversations)
        session.flush()
        for c in conversations:
            session.add(
                Message(
                    conversation_id=c.id,
                    seq=1,
                    author_kind=AuthorKind.end_user,
                    author_end_user_id=c.end_user_id,
                    body="Hello, I have a question about my order.",
                    created_at=now,
                )
            )
            session.add(Message(conversation_id=c.id, seq=2, author_kind=AuthorKind.agent, author_agent_id=agent.id,
                                body="Thanks! Your order shipped this morning; the tracking number is 123456.",
                                created_at=now + timedelta(seconds=30)))
            session.add(OutboxJob(conversation_id=c.id, idempotency_key=f"{c.id}:2", first_seq=2, last_seq=2,
                                  to_address=f"user{c.end_user_id}@example.org", language=None,
                                  message_id=notification_message_id(signer.reply_token(c.id), "example.com"),
                                  next_attempt_at=now, created_at=now))
        session.commit()


async def outbox_rate(db, config, signer, clock, count: int) -> float:
    from mail.sender import OutboxSender

    sender = OutboxSender(db, config, signer, clock, worker_id="bench")
    started = time.perf_counter()
    await sender.drain()
    elapsed = time.perf_counter() - started
    await sender.pool.close()
    if sender.sent_count != count:
        raise SystemExit(f"only {sender.sent_count} of {count} emails were sent")
    return count / elapsed


async def raw_rates(port: int, count: int) -> tuple[float, float]:
    """(send_message of prebuilt EmailMessage objects, sendmail of prebuilt bytes), each over one reused connection.

    The first is the reference the target is stated against (what a bare aiosmtplib program does with emails it
    built beforehand); the second, bytes already flattened, is printed too as the floor of SMTP cost alone.
    """
    import aiosmtplib

    from core.clock import SystemClock
    from mail.compose import build_email, outgoing
    from mail.notification_content import MessageView, NotificationContent

    now = SystemClock().now()
    contents = [NotificationContent(
        message_id=f"<raw-{i}@example.com>", to_address=f"user{i}@example.org", to_name=f"User {i}", language="en",
        brand_name="Bench Help", support_address="help@example.com", reply_address="help+token@example.com",
        conversation_public_id="raw", conversation_url="https://support.example.com/?conversation=raw",
        unread=[MessageView("Bench Agent", "Jan 5, 2026", "Thanks! Your order shipped this morning.")])
        for i in range(count)]
    messages = [build_email(content, now) for content in contents]
    prebuilt = [outgoing(content, now) for content in contents]
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
    await client.connect()
    started = time.perf_counter()
    for message in messages:
        await client.send_message(message)
    message_rate = count / (time.perf_counter() - started)
    started = time.perf_counter()
    for item in prebuilt:
        await client.sendmail(item.sender, [item.recipient], item.data)
    bytes_rate = count / (time.perf_counter() - started)
    await client.quit()
    return message_rate, bytes_rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--pool", type=int, default=4, help="SMTP connections of the sender (config smtp.pool_size)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return 0
    logging.basicConfig(level=logging.WARNING)

    from core import schema
    from core.clock import SystemClock
    from core.config import Config
    from core.db import Database
    from core.tokens import TokenSigner

    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        port = int(server.stdout.readline())
        with tempfile.TemporaryDirectory() as folder:
            db = Database(f"sqlite:///{folder}/bench.db")
            schema.upgrade(db.engine)
            clock = SystemClock()
            signer = TokenSigner("bench-secret-0123456789")
            config = Config()
            config.smtp.port = port
            config.smtp.pool_size = args.pool
            config.widget.public_url = "https://support.example.com"
            seed(db, clock, signer, args.count)
            emails_per_s = asyncio.run(outbox_rate(db, config, signer, clock, args.count))
            db.dispose()
        raw_per_s, raw_bytes_per_s = asyncio.run(raw_rates(port, args.count))
    finally:
        server.stdin.close()
        server.wait(10)
    ratio = emails_per_s / raw_per_s
    print(f"emails_per_s: {emails_per_s:.0f} (target >= {TARGET_EMAILS_PER_S:.0f})")
    print(
        f"raw_per_s: {raw_per_s:.0f} (reference: bare aiosmtplib send_message loop of prebuilt emails, one connection)"
    )
    print(f"ratio: {ratio:.2f} (target >= {TARGET_RATIO})")
    print(f"raw_bytes_per_s: {raw_bytes_per_s:.0f} (information: sendmail of prebuilt bytes, one connection)")
    print(f"ratio_to_bytes: {emails_per_s / raw_bytes_per_s:.2f} (information, no target)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

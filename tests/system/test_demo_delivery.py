"""The demo's embedded mail servers under concurrent delivery: every email sent over SMTP lands in its IMAP mailbox."""
from __future__ import annotations

import asyncio
from email.message import EmailMessage

import aiosmtplib
from aioimaplib import aioimaplib

from threadline import demo


def _email(n: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Bob <bob@example.net>"
    message["To"] = demo.SUPPORT_ADDRESS
    message["Subject"] = f"parallel {n}"
    message["Message-ID"] = f"<parallel-{n}@example.net>"
    message.set_content(f"delivery number {n}\n" + "x" * 2000)
    return message


async def _subjects_in(port: int, user: str) -> list[str]:
    """The subjects in user's INBOX, read over IMAP as a mail client would."""
    client = aioimaplib.IMAP4(host="127.0.0.1", port=port, timeout=10)
    await client.wait_hello_from_server()
    assert (await client.login(user, demo.MAILBOX_PASSWORD)).result == "OK"
    await client.select("INBOX")
    fetched = await client.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    await client.logout()
    return sorted(line.decode().strip().removeprefix("Subject: ") for line in map(bytes, fetched.lines)
                  if line.startswith(b"Subject:"))


async def test_twenty_parallel_deliveries_to_one_mailbox_all_arrive_and_later_ones_too():
    mail = demo.DemoMail(demo.free_port(), demo.free_port())
    await mail.start()
    try:
        async def send(n: int) -> None:
            await aiosmtplib.send(_email(n), hostname="127.0.0.1", port=mail.smtp.port, start_tls=False, timeout=30)

        await asyncio.wait_for(send(0), 30)  # the mailbox has its delivery connection open now
        await asyncio.wait_for(asyncio.gather(*(send(n) for n in range(1, 21))), 60)
        await asyncio.wait_for(send(21), 30)  # and still takes mail afterwards
        subjects = await _subjects_in(mail.imap.port, demo.SUPPORT_ADDRESS)
    finally:
        await mail.stop()
    assert subjects == sorted(f"parallel {n}" for n in range(22))

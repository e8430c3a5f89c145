"""The in-process SMTP server used by the demo: delivery callbacks, and a failing callback answering 451."""
from __future__ import annotations

import aiosmtplib

from threadline.embedded_smtp import EmbeddedSmtpServer

RAW = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: hi\r\nMessage-ID: <m1@example.org>\r\n\r\nhello\r\n"


async def test_delivers_to_the_callback_and_keeps_the_email():
    delivered = []

    async def deliver(received):
        delivered.append((received.rcpt_tos, received.message["Subject"]))

    async with EmbeddedSmtpServer(on_message=deliver) as server:
        assert server.port > 0
        await aiosmtplib.send(
            RAW, sender="a@example.org", recipients=["b@example.org"], hostname="127.0.0.1", port=server.port
        )
        [received] = await server.wait_for(1)
    assert delivered == [(["b@example.org"], "hi")]
    assert received.message["Message-ID"] == "<m1@example.org>"


async def test_a_failing_callback_answers_451_and_keeps_nothing():
    def deliver(received):
        raise RuntimeError("mailbox store is down")

    async with EmbeddedSmtpServer(on_message=deliver) as server:
        try:
            await aiosmtplib.send(
                RAW, sender="a@example.org", recipients=["b@example.org"], hostname="127.0.0.1", port=server.port
            )
        except aiosmtplib.SMTPDataError as exc:
            assert exc.code == 451
        else:
            raise AssertionError("the failed delivery was acknowledged")
        assert server.received == []

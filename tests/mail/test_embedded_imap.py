"""The embedded pymap server: users, APPEND, IDLE on and off, and IDLE reporting mail that arrived just before it."""
from __future__ import annotations

import asyncio

from aioimaplib import aioimaplib

from threadline.embedded_imap import EmbeddedImap


async def _login(server: EmbeddedImap, user: str) -> aioimaplib.IMAP4:
    client = aioimaplib.IMAP4(host=server.host, port=server.port, timeout=5)
    await client.wait_hello_from_server()
    assert (await client.login(user, server.users[user])).result == "OK"
    return client


async def test_users_have_separate_mailboxes_and_idle_can_be_hidden():
    for idle in (True, False):
        async with EmbeddedImap({"support": "a", "enduser": "b"}, idle=idle) as server:
            assert server.port > 0
            await server.add_user("second", "c")
            await server.append("enduser", b"From: x@y.z\r\nSubject: one\r\n\r\nhello\r\n")
            support, enduser = await _login(server, "support"), await _login(server, "enduser")
            assert support.has_capability("IDLE") is idle
            assert b"0 EXISTS" in b" ".join((await support.select("INBOX")).lines)
            assert b"1 EXISTS" in b" ".join((await enduser.select("INBOX")).lines)
            for client in (support, enduser):
                await client.logout()


async def test_idle_reports_mail_appended_between_the_last_command_and_idle():
    async with EmbeddedImap({"support": "a"}) as server:
        client = await _login(server, "support")
        await client.select("INBOX")
        await server.append("support", b"From: x@y.z\r\nSubject: early\r\n\r\nhello\r\n")
        await client.idle_start(timeout=10)
        push = await client.wait_server_push(timeout=5)  # pymap alone would wait for the next change
        assert any(b"EXISTS" in bytes(line) for line in push)
        client.idle_done()
        await client.logout()


async def test_drop_connections_cuts_every_client():
    async with EmbeddedImap({"support": "a"}) as server:
        lost = asyncio.Event()
        client = aioimaplib.IMAP4(host=server.host, port=server.port, timeout=5, conn_lost_cb=lambda exc: lost.set())
        await client.wait_hello_from_server()
        await client.login("support", "a")
        assert server.drop_connections() >= 1
        await asyncio.wait_for(lost.wait(), 5)

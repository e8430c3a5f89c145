"""Run by tests/system/test_interpreters.py under another Python: start the demo's embedded IMAP server, deliver one
email, read it back over IMAP (login, SELECT, FETCH), stop the server. Prints one line "ok <python version>".

Standalone on purpose (no pytest, no fixtures): the interpreter running it has only what `pip install -e .` gave it.
"""
from __future__ import annotations

import asyncio
import sys

from aioimaplib import aioimaplib

from threadline.embedded_imap import EmbeddedImap


async def main() -> None:
    async with EmbeddedImap({"support": "support-password"}) as server:
        await server.append("support", b"From: ann@example.org\r\nSubject: hello\r\n\r\nIt works.\r\n")
        client = aioimaplib.IMAP4(host=server.host, port=server.port, timeout=10)
        await client.wait_hello_from_server()
        assert (await client.login("support", "support-password")).result == "OK"
        assert b"1 EXISTS" in b" ".join((await client.select("INBOX")).lines)
        fetched = await client.fetch("1", "(BODY.PEEK[])")
        assert fetched.result == "OK" and any(b"It works." in bytes(line) for line in fetched.lines)
        await client.logout()
    print("ok", ".".join(map(str, sys.version_info[:3])))


if __name__ == "__main__":
    asyncio.run(main())

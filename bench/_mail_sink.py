"""For bench/load.py, in its own process: an aiosmtpd sink for notifications and a pymap server for the support mailbox.

Mail to the support address is appended to pymap's support mailbox (an end user's answer by SMTP); any other mail is
a notification. Prints one JSON line per event on stdout: the ports first, then each email with time.monotonic().
"""
from __future__ import annotations

import asyncio
import email
import email.policy
import json
import socket
import sys
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from threadline.embedded_imap import EmbeddedImap

SUPPORT_DOMAIN = "@example.com"


def say(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


class Handler:
    def __init__(self, imap: EmbeddedImap, loop: asyncio.AbstractEventLoop) -> None:
        self.imap = imap
        self.loop = loop

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        now = time.monotonic()
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        for recipient in envelope.rcpt_tos:
            if recipient.lower().endswith(SUPPORT_DOMAIN):
                # The IMAP server runs on the main loop; the SMTP controller has a loop of its own.
                await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self.imap.append("support", raw),
                                                                           self.loop))
                say(kind="answer", message_id=str(message["Message-ID"]), t=now)
            else:
                say(kind="notification", to=recipient, message_id=str(message["Message-ID"]),
                    reply_to=str(message["Reply-To"] or ""), t=now)
        return "250 2.0.0 OK"


def free_port() -> int:
    # aiosmtpd's Controller checks its server by connecting to the port it was given, so it needs a real one.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def main() -> None:
    async with EmbeddedImap({"support": "support-password"}) as imap:
        controller = Controller(Handler(imap, asyncio.get_running_loop()), hostname="127.0.0.1",
                                port=free_port())
        controller.start()
        say(kind="ports", smtp=controller.port, imap=imap.port)
        try:
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the bench closes stdin
        finally:
            controller.stop()


if __name__ == "__main__":
    asyncio.run(main())

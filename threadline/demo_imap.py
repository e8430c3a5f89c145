"""An IMAP server inside the demo process (pymap's in-memory backend) holding several users' mailboxes."""
from __future__ import annotations

import argparse
import asyncio
import imaplib
import logging
import time
from contextlib import AsyncExitStack

log = logging.getLogger(__name__)


def _pymap_args(host: str, port: int) -> argparse.Namespace:
    """The argument namespace pymap's own command line builds (its backends and services read their settings there)."""
    from pymap.backend import backends
    from pymap.service import services

    parser = argparse.ArgumentParser(prog="pymap")
    parser.add_argument("--debug", action="store_true")
    parser.add_argument("--no-service", dest="skip_services", action="append")
    subparsers = parser.add_subparsers(dest="backend", required=True)
    for name, backend_type in backends.items():
        backend_type.add_subparser(name, subparsers).set_defaults(backend_type=backend_type)
    for service_type in services.values():
        service_type.add_arguments(parser)
    parser.set_defaults(skip_services=[], passlib_cfg=None, pid_file=None, logging_cfg=None)
    return parser.parse_args(["--host", host, "--port", str(port), "--no-tls", "dict"])


class DemoImapServer:
    """pymap on the running event loop, plain IMAP on host:port; users maps each login to its password.

    Mail is filed with append(), a real IMAP APPEND as the mailbox's owner, so it reaches IDLE clients at once.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, users: dict[str, str] | None = None) -> None:
        self.host = host
        self.port = port
        self.users = dict(users or {})
        self._stack: AsyncExitStack | None = None

    async def start(self) -> "DemoImapServer":
        from pymap.backend.dict import DictBackend, Identity
        from pymap.imap import IMAPService
        from pymap.user import Passwords, UserMetadata

        if not self.port:
            raise ValueError("DemoImapServer needs a port (pick a free one first)")
        backend, config = await DictBackend.init(_pymap_args(self.host, self.port))
        config.apply_context()
        passwords = Passwords(config)
        for login, password in self.users.items():
            metadata = UserMetadata(config, login, password=await passwords.hash_password(password))
            await Identity(login, backend.login, None, frozenset()).set(metadata)
        stack = AsyncExitStack()
        await backend.start(stack)
        await IMAPService(backend, config).start(stack)
        self._stack = stack
        log.info("embedded IMAP server listening on %s:%s", self.host, self.port)
        return self

    async def stop(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None

    def _append(self, login: str, data: bytes, mailbox: str) -> None:
        with imaplib.IMAP4(self.host, self.port, timeout=10) as client:
            client.login(login, self.users[login])
            client.append(mailbox, None, imaplib.Time2Internaldate(time.time()), data)

    async def append(self, login: str, data: bytes, mailbox: str = "INBOX") -> None:
        """File one raw email into login's mailbox (in a thread: imaplib blocks)."""
        await asyncio.to_thread(self._append, login, data, mailbox)

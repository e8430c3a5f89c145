"""An in-process IMAP server (pymap, dict backend) on 127.0.0.1 for tests, benchmarks and the demo.

IDLE can be switched off. pymap documents a `disable_idle` option but (in the installed 0.36) never reads it, so
the dict backend's Config is subclassed to declare `BackendCapability(idle=False)`: IDLE then leaves CAPABILITY and
the command is refused ("IDLE is disabled"), exactly what a server without IDLE looks like to a client. That is
simpler and more faithful than a proxy rewriting CAPABILITY lines.

pymap is imported inside the functions that use it: it is a genuine optional dependency (installed only on
Python < 3.12, see pyproject.toml), and the demo must still import this module where it is missing.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import ssl
from contextlib import AsyncExitStack
from typing import Any

from aioimaplib import aioimaplib

log = logging.getLogger(__name__)


def _report_missed_changes_in_idle() -> None:
    """Make pymap's dict backend start IDLE with any change the client has not seen yet.

    Its IDLE waits for the *next* change before comparing mod-sequences, so mail appended between the client's
    last command and its IDLE was announced only with the following change (found by bench/inbound_latency.py).
    Real servers (Dovecot) report pending changes as IDLE starts; this wrapper does the same for pymap.
    """
    from pymap.backend.dict.mailbox import MailboxData  # optional dependency (module docstring)

    original = MailboxData.update_selected
    if getattr(original, "threadline_patched", False):
        return

    async def update_selected(self: Any, selected: Any, *, wait_on: Any = None) -> Any:
        if wait_on is not None and selected.mod_sequence is not None \
                and self._mod_sequences.highest != selected.mod_sequence:
            wait_on = None  # something changed already: report it now instead of waiting
        return await original(self, selected, wait_on=wait_on)

    update_selected.threadline_patched = True  # type: ignore[attr-defined]
    MailboxData.update_selected = update_selected  # type: ignore[method-assign]


def _pymap_args(host: str, port: int, starttls: bool = False) -> argparse.Namespace:
    """The argparse namespace pymap's own main() would build for `pymap --no-tls dict`."""
    from pymap.backend import backends  # optional dependency (module docstring)
    from pymap.service import services

    parser = argparse.ArgumentParser()
    parser.add_argument("--debug", action="store_true")
    parser.add_argument("--no-service", dest="skip_services", action="append")
    subparsers = parser.add_subparsers(dest="backend", required=True)
    backend_type = backends["dict"]
    subparser = backend_type.add_subparser("dict", subparsers)
    subparser.set_defaults(backend_type=backend_type)
    for service_type in services.values():
        service_type.add_arguments(parser)
    parser.set_defaults(skip_services=[], passlib_cfg=None)
    return parser.parse_args(["--host", host, "--port", str(port), *([] if starttls else ["--no-tls"]), "dict"])


class EmbeddedImap:
    """`async with EmbeddedImap(users={"support": "pw"}) as imap:` serves IMAP on imap.host:imap.port."""

    def __init__(self, users: dict[str, str] | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 idle: bool = True, tls: str = "none", ssl_context: ssl.SSLContext | None = None,
                 client_ssl_context: ssl.SSLContext | None = None) -> None:
        """tls: "none", "starttls" (STARTTLS offered, login only after it) or "tls" (TLS from the first byte)."""
        if tls != "none" and ssl_context is None:
            raise ValueError("tls needs an ssl_context holding the server's certificate")
        self.tls = tls
        self.ssl_context = ssl_context
        self.client_ssl_context = client_ssl_context  # how append() trusts the server in "tls" mode
        self.host = host
        self.port = port
        self.idle = idle
        self.users: dict[str, str] = dict(users or {"support": "support-password"})
        self._stack: AsyncExitStack | None = None
        self._server: asyncio.AbstractServer | None = None
        self._backend: Any = None
        self._config: Any = None
        self._clients: dict[str, aioimaplib.IMAP4] = {}
        self._delivery_locks: dict[str, asyncio.Lock] = {}
        self._writers: set[asyncio.StreamWriter] = set()

    async def __aenter__(self) -> EmbeddedImap:
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    async def start(self) -> None:
        # pymap (and proxyprotocol, which comes with it) is an optional dependency: see the module docstring.
        from proxyprotocol.reader import ProxyProtocolReader
        from pymap.backend.dict import Config, DictBackend, Login
        from pymap.config import BackendCapability
        from pymap.imap import IMAPServer

        _report_missed_changes_in_idle()

        idle = self.idle

        class _Config(Config):
            @property
            def backend_capability(self) -> BackendCapability:
                return BackendCapability(idle=idle, object_id=True, multi_append=True)

        args = _pymap_args(self.host, self.port, starttls=self.tls == "starttls")
        extra: dict[str, Any] = {"invalid_user_sleep": 0.0}
        if self.tls == "starttls":
            extra["ssl_context"] = self.ssl_context
        config = _Config.from_args(args, **extra)
        backend = DictBackend(Login(config), config)
        config.apply_context()
        self._backend, self._config = backend, config
        self._stack = AsyncExitStack()
        await backend.start(self._stack)
        imap_server = IMAPServer(backend.login, config)
        callback = ProxyProtocolReader(config.proxy_protocol).get_callback(imap_server)

        async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            # The PROXY-protocol callback hands the connection to its own task, so closed ones are pruned later.
            self._writers = {w for w in self._writers if not w.transport.is_closing()}
            self._writers.add(writer)
            await callback(reader, writer)

        self._server = await asyncio.start_server(tracked, host=self.host, port=self.port,
                                                  ssl=self.ssl_context if self.tls == "tls" else None)
        self.port = self._server.sockets[0].getsockname()[1]
        for user, password in self.users.items():
            await self.add_user(user, password)
        log.info("embedded IMAP server on %s:%s (IDLE %s)", self.host, self.port, "on" if self.idle else "off")

    async def add_user(self, user: str, password: str) -> None:
        """Create (or replace) a mailbox user, e.g. an end user's mailbox for the demo."""
        from pymap.backend.dict import Identity  # optional dependency (module docstring)
        from pymap.user import Passwords, UserMetadata

        hashed = await Passwords(self._config).hash_password(password)
        identity = Identity(user, self._backend.login, None, frozenset())
        await identity.set(UserMetadata(self._config, user, password=hashed))
        self.users[user] = password

    async def client(self, user: str) -> aioimaplib.IMAP4:
        """A logged-in IMAP client for user (kept open and reused)."""
        client = self._clients.get(user)
        if client is not None and client.get_state() in ("AUTH", "SELECTED") \
                and not client.protocol.transport.is_closing():  # aioimaplib keeps its state after a drop
            return client
        if self.tls == "tls":
            client = aioimaplib.IMAP4_SSL(host=self.host, port=self.port, timeout=10,
                                          ssl_context=self.client_ssl_context)
        else:
            client = aioimaplib.IMAP4(host=self.host, port=self.port, timeout=10)
        await client.wait_hello_from_server()
        response = await client.login(user, self.users[user])
        if response.result != "OK":
            raise RuntimeError(f"embedded IMAP login for {user} failed: {response.lines}")
        self._clients[user] = client
        return client

    async def append(self, user: str, raw: bytes, mailbox: str = "INBOX") -> None:
        """APPEND raw bytes to one of user's mailboxes, as a mail delivery would; safe to call concurrently.

        aioimaplib keeps the literal of an APPEND on the connection, not on the command, so two APPENDs in flight on
        one client send each other's bytes and wedge it; deliveries to one user therefore take turns. A connection
        that failed is closed and forgotten, so the next delivery logs in afresh instead of failing for ever.
        """
        lock = self._delivery_locks.setdefault(user, asyncio.Lock())
        async with lock:
            try:
                client = await self.client(user)
                response = await asyncio.wait_for(client.append(raw, mailbox=mailbox), 30)
            except BaseException:
                self._forget_client(user)
                raise
            if response.result != "OK":
                self._forget_client(user)
                raise RuntimeError(f"APPEND to {user}/{mailbox} failed: {response.lines}")

    def _forget_client(self, user: str) -> None:
        client = self._clients.pop(user, None)
        transport = client.protocol.transport if client is not None else None
        if transport is not None:
            transport.close()

    def drop_connections(self) -> int:
        """Close every client connection abruptly (a network failure as the client sees it)."""
        dropped = 0
        for writer in list(self._writers):
            if not writer.transport.is_closing():
                writer.transport.abort()
                dropped += 1
        self._writers.clear()
        self._clients.clear()
        return dropped

    async def stop(self) -> None:
        for client in self._clients.values():
            try:
                await asyncio.wait_for(client.logout(), 2)
            except Exception:  # noqa: BLE001, S110 - best effort on shutdown: one client must not keep the rest open
                pass
        self._clients.clear()
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            try:
                await asyncio.wait_for(self._server.wait_closed(), 2)
            except TimeoutError:
                pass
            self._server = None
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None

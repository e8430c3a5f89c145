"""An SMTP server inside this process (aiosmtpd on the running event loop): keeps what it receives, can hand it on."""
from __future__ import annotations

import asyncio
import email
import email.policy
import inspect
import logging
import ssl
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger(__name__)


@dataclass
class ReceivedEmail:
    """One email as the server received it: envelope and raw bytes, parsed on demand."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    mail_options: list[str] = field(default_factory=list)

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


DeliveryCallback = Callable[[ReceivedEmail], Any]


def _as_bytes(content: bytes | str) -> bytes:
    # aiosmtpd hands over bytes unless a server decodes the data, which ours never asks it to.
    return content if isinstance(content, bytes) else content.encode("utf-8", "surrogateescape")


class _KeepingHandler:
    def __init__(self, server: EmbeddedSmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        received = ReceivedEmail(mail_from=envelope.mail_from or "", rcpt_tos=list(envelope.rcpt_tos),
                                 data=_as_bytes(envelope.original_content or envelope.content or b""),
                                 mail_options=list(envelope.mail_options))
        return await self.server.accept(received)


class EmbeddedSmtpServer:
    """aiosmtpd serving on the current event loop; port 0 picks a free port (read .port after start())."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, on_message: DeliveryCallback | None = None,
                 *, smtputf8: bool = True, handler: Any = None, hostname: str = "threadline.local",
                 tls_context: ssl.SSLContext | None = None, implicit_tls: bool = False,
                 authenticator: Any = None) -> None:
        self.host = host
        self.port = port
        self.on_message = on_message
        self.smtputf8 = smtputf8
        self.handler = handler or _KeepingHandler(self)
        self.hostname = hostname
        # STARTTLS is offered with tls_context (and required before AUTH); implicit_tls wraps the socket instead.
        self.tls_context = tls_context
        self.implicit_tls = implicit_tls
        self.authenticator = authenticator
        self.received: list[ReceivedEmail] = []
        self._server: asyncio.AbstractServer | None = None
        self._arrived = asyncio.Condition()

    def _protocol(self, loop: asyncio.AbstractEventLoop) -> SMTP:
        with warnings.catch_warnings():
            # aiosmtpd warns about AUTH without STARTTLS, not knowing an implicit-TLS socket is encrypted already.
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS", UserWarning)
            return SMTP(self.handler, enable_SMTPUTF8=self.smtputf8, hostname=self.hostname, loop=loop,
                        tls_context=None if self.implicit_tls else self.tls_context,
                        require_starttls=bool(self.tls_context) and not self.implicit_tls,
                        authenticator=self.authenticator, auth_required=self.authenticator is not None,
                        auth_require_tls=not self.implicit_tls)

    async def start(self) -> EmbeddedSmtpServer:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: self._protocol(loop), host=self.host, port=self.port,
            ssl=self.tls_context if self.implicit_tls else None)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("embedded SMTP server listening on %s:%s", self.host, self.port)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> EmbeddedSmtpServer:
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    async def accept(self, received: ReceivedEmail) -> str:
        """Keep the email, run the delivery callback, answer 250 (or 451 when the callback failed)."""
        if self.on_message is not None:
            try:
                result = self.on_message(received)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("delivery callback failed; the sender will retry")
                return "451 4.3.0 Delivery failed here, try again later"
        self.received.append(received)
        async with self._arrived:
            self._arrived.notify_all()
        return "250 2.0.0 OK"

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedEmail]:
        """Wait until count emails have arrived (a wait on an event, not a sleep); returns them."""
        async def arrived() -> None:
            async with self._arrived:
                await self._arrived.wait_for(lambda: len(self.received) >= count)

        await asyncio.wait_for(arrived(), timeout)
        return list(self.received)


__all__ = ["DeliveryCallback", "EmbeddedSmtpServer", "ReceivedEmail"]

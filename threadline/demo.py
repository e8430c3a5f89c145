"""What `threadline demo` sets up: a fresh database, demo mailboxes, embedded SMTP and IMAP, and mail routing between
them."""
from __future__ import annotations

import json
import logging
import secrets
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core import schema
from core.agents import AgentService
from core.config import Config
from core.continuous import ContinuousConversations
from core.private_files import write_private_file
from core.settings import SettingsService
from threadline.context import AppContext
from threadline.embedded_imap import EmbeddedImap
from threadline.embedded_smtp import EmbeddedSmtpServer, ReceivedEmail

log = logging.getLogger(__name__)

SUPPORT_ADDRESS = "support@example.com"
# The demo end users, whose mailboxes the demo mailbox page shows (IMAP login: address, password below).
# Their domain differs from the support address's: inbound mail treats Message-IDs in our own domain as a loop.
END_USERS = {"alice@example.net": "Alice Example", "bob@example.net": "Bob Example"}
MAILBOX_PASSWORD = "demo"  # noqa: S105 - the demo's throwaway mailboxes; printed at start on purpose
AGENT_HANDLE = "demo"
DEFAULT_WIDGET_PORT = 8080


@dataclass
class DemoState:
    """Where everything runs; written as JSON to --state-file for scripts and tests."""

    url: str
    mailbox_url: str
    data_dir: str
    database_url: str
    database_path: str
    secret: str
    smtp_port: int
    imap_port: int
    support_address: str = SUPPORT_ADDRESS
    mailbox_password: str = MAILBOX_PASSWORD
    end_users: dict[str, str] = field(default_factory=lambda: dict(END_USERS))
    agent: str = AGENT_HANDLE
    inactivity_seconds: int = 30

    def write(self, path: Path) -> None:
        # Written whole under another name, then renamed: a reader never sees half a file. It holds the token
        # secret, so it is 0600.
        write_private_file(path, json.dumps(asdict(self), indent=2))


def free_port(preferred: int = 0, host: str = "127.0.0.1") -> int:
    """preferred when it is free (0: none), else any free port."""
    for candidate in ((preferred, 0) if preferred else (0,)):
        with socket.socket() as probe:
            try:
                probe.bind((host, candidate))
            except OSError:
                continue
            port: int = probe.getsockname()[1]
            return port
    raise OSError(f"no free port on {host}")


def demo_config(data_dir: Path, widget_port: int, smtp_port: int, imap_port: int) -> Config:
    """The demo's whole configuration, built in code: nothing is read from the user's files or environment."""
    config = Config()
    config.general.data_dir = str(data_dir)
    config.general.secret = secrets.token_urlsafe(32)
    config.database.url = f"sqlite:///{data_dir / 'threadline.db'}"
    config.smtp.host, config.smtp.port, config.smtp.tls = "127.0.0.1", smtp_port, "none"
    config.imap.enabled = True
    config.imap.host, config.imap.port, config.imap.tls = "127.0.0.1", imap_port, "none"
    config.imap.username, config.imap.password = SUPPORT_ADDRESS, MAILBOX_PASSWORD
    config.imap.poll_interval = 2.0
    config.widget.host, config.widget.port = "127.0.0.1", widget_port
    config.widget.public_url = f"http://127.0.0.1:{widget_port}"
    return config


def prepare_database(context: AppContext, inactivity_seconds: int) -> None:
    """`threadline init`, the support address, one agent, and continuous conversations switched on."""
    schema.upgrade(context.db.engine)
    with context.db.session() as session:
        SettingsService(session, context.clock).update(
            support_address=SUPPORT_ADDRESS, brand_name="Threadline Demo", inactivity_seconds=inactivity_seconds,
            presence_timeout_seconds=10)
        AgentService(session, context.clock).add(AGENT_HANDLE, "Demo Agent", is_admin=True)
        ContinuousConversations(session, context.clock).activate(mail_configured=True)


def mailbox_for(recipient: str) -> str | None:
    """The demo mailbox an address delivers to: the support address and its plus forms, or a demo end user."""
    local, _, domain = recipient.strip().lower().rpartition("@")
    base = f"{local.split('+', 1)[0]}@{domain}"
    if base == SUPPORT_ADDRESS:
        return SUPPORT_ADDRESS
    return base if base in END_USERS else None


class DemoMail:
    """Embedded SMTP that files each email into the embedded IMAP mailbox of each recipient."""

    def __init__(self, smtp_port: int, imap_port: int) -> None:
        users = {address: MAILBOX_PASSWORD for address in (SUPPORT_ADDRESS, *END_USERS)}
        self.imap = EmbeddedImap(users, host="127.0.0.1", port=imap_port)
        self.smtp = EmbeddedSmtpServer("127.0.0.1", smtp_port, on_message=self.deliver, hostname="example.com")

    async def deliver(self, received: ReceivedEmail) -> None:
        """File into every known recipient's INBOX; a failure answers 451 so the sender tries again."""
        for recipient in received.rcpt_tos:
            mailbox = mailbox_for(recipient)
            if mailbox is None:
                log.warning("demo mail: no mailbox for %s; the email is dropped", recipient)
                continue
            await self.imap.append(mailbox, received.data)
            log.info("demo mail: delivered to %s", mailbox)

    async def start(self) -> None:
        await self.imap.start()
        await self.smtp.start()

    async def stop(self) -> None:
        await self.smtp.stop()
        await self.imap.stop()


def state_for(context: AppContext, url: str, smtp_port: int, imap_port: int, inactivity_seconds: int) -> DemoState:
    path = context.db.engine.url.database or ""
    return DemoState(url=url, mailbox_url=f"{url}/demo/mailbox", data_dir=str(context.config.data_path),
                     database_url=context.db.url, database_path=str(Path(path).resolve()),
                     secret=context.config.general.secret, smtp_port=smtp_port, imap_port=imap_port,
                     inactivity_seconds=inactivity_seconds)


__all__ = [
    "AGENT_HANDLE",
    "END_USERS",
    "MAILBOX_PASSWORD",
    "SUPPORT_ADDRESS",
    "DemoMail",
    "DemoState",
    "demo_config",
    "free_port",
    "mailbox_for",
    "prepare_database",
    "state_for",
]

"""What every screen of one console needs: the database, the clock, the configuration and the signed-in agent."""
from __future__ import annotations

from dataclasses import dataclass

from core.clock import Clock
from core.config import Config
from core.db import Database


@dataclass(frozen=True)
class AgentInfo:
    """The signed-in agent, read once at start-up (a plain value, safe to pass between threads)."""

    id: int
    handle: str
    name: str
    is_admin: bool
    language: str | None
    timezone: str | None = None


@dataclass
class ConsoleContext:
    db: Database
    clock: Clock
    config: Config
    agent: AgentInfo
    demo: bool = False  # `threadline demo`: quitting removes the demo's data
    # Where end users reach the widget server, for links to help-center articles (threadline.public_links).
    help_center_url: str = ""

    def article_url(self, path: str) -> str:
        """The public address of an article page at path (/help/en/slug); relative when no address is known."""
        return self.help_center_url.rstrip("/") + path

    @property
    def mail_configured(self) -> bool:
        """Whether mail can flow both ways: an SMTP host to send and IMAP polling to receive."""
        return self.config.mail_configured

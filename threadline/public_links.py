"""Whether the links in emails can work: an empty widget.public_url makes them http://host:port of this machine."""
from __future__ import annotations

import ipaddress

from core.config import Config
from core.i18n import _
from mail.notification_content import widget_public_url


def is_loopback(host: str) -> bool:
    """Whether listening on host reaches this machine only (127.0.0.0/8, ::1, localhost)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def help_center_url(config: Config) -> str:
    """Where article links point (the console's "insert article link"): the widget server's public address."""
    return widget_public_url(config)


def local_links_warning(config: Config) -> str | None:
    """A warning for doctor when emails would carry links to this machine's own address, else None."""
    if config.widget.public_url:
        return None
    return _("warning: widget.public_url is empty, so emails would carry {url} links (return and unsubscribe), "
             "which work on this machine only; set it to the address people reach the widget at, e.g. "
             "https://support.example.com").format(url=widget_public_url(config))


def local_links_refusal(config: Config, host: str, allow_local_links: bool) -> str | None:
    """Why serve must not start (listening beyond loopback while emails would link to this machine), or None."""
    if config.widget.public_url or allow_local_links or is_loopback(host):
        return None
    return _("widget.public_url is empty, so emails would carry {url} links that nobody else can open, while the "
             "widget listens on {host}; set widget.public_url to the address people reach it at, or pass "
             "--allow-local-links to start anyway.").format(url=widget_public_url(config), host=host)

"""End-user identity for the web widget: the identify() signature check and the return link's address."""
from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

# Purpose string for deriving the widget secret from the token secret, so the two never coincide.
_WIDGET_SECRET_PURPOSE = b"threadline widget identify secret"


def widget_secret(configured: str, token_secret: str | bytes) -> bytes:
    """The secret identify() signatures are made with: the configured one, else derived from the token secret."""
    if configured:
        return configured.encode()
    if isinstance(token_secret, str):
        token_secret = token_secret.encode()
    return hmac.new(token_secret, _WIDGET_SECRET_PURPOSE, hashlib.sha256).hexdigest().encode()


def identify_signature(secret: bytes, email: str) -> str:
    """What the host's backend computes: hex HMAC-SHA256 of the email exactly as passed to identify()."""
    return hmac.new(secret, (email or "").strip().encode(), hashlib.sha256).hexdigest()


def signature_is_valid(secret: bytes, email: str, signature: str | None) -> bool:
    """True when signature proves the host vouches for email; compared in constant time."""
    if not signature or not email:
        return False
    expected = identify_signature(secret, email)
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode())


def return_link_url(public_url: str, token: str) -> str:
    """The address an email's "return to the conversation" link points at (served by the widget server)."""
    return f"{public_url.rstrip('/')}/return/{quote(token, safe='')}"

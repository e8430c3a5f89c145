"""Signed tokens (reply token, end-user widget token, expiring return link): HMAC-SHA256, nothing stored.

Tokens use lowercase letters, digits and '-' only, so they survive email local parts (which some servers
lowercase) and URLs. Each kind has its own purpose string, so one kind can never pass for another.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

MAC_BYTES = 16  # 128 bits

REPLY = "reply"
END_USER = "end-user"
RETURN_LINK = "return-link"
ATTACHMENT_LINK = "attachment-link"


@dataclass(frozen=True)
class EndUserClaim:
    """What a valid end-user token says: whose session it is and since when (checked against revocation)."""

    end_user_id: int
    issued_at: datetime


class InvalidToken(Exception):
    """The token is malformed, forged, for another purpose, or expired."""


def _b36(number: int) -> str:
    if number < 0:
        raise ValueError("token fields are non-negative integers")
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


class TokenSigner:
    def __init__(self, secret: str | bytes) -> None:
        if isinstance(secret, str):
            secret = secret.encode()
        if len(secret) < 16:
            raise ValueError("the token secret must be at least 16 bytes")
        self._secret = secret

    def _mac(self, purpose: str, fields: str) -> str:
        digest = hmac.new(self._secret, f"{purpose}|{fields}".encode(), hashlib.sha256).digest()[:MAC_BYTES]
        return base64.b32encode(digest).decode().rstrip("=").lower()

    def sign(self, purpose: str, *numbers: int) -> str:
        fields = "-".join(_b36(n) for n in numbers)
        return f"{fields}-{self._mac(purpose, fields)}"

    def verify(self, purpose: str, token: str, count: int) -> tuple[int, ...]:
        """The numbers signed into token; raises InvalidToken."""
        parts = (token or "").strip().lower().split("-")
        if len(parts) != count + 1:
            raise InvalidToken("malformed token")
        fields = "-".join(parts[:-1])
        if not hmac.compare_digest(self._mac(purpose, fields), parts[-1]):
            raise InvalidToken("bad signature")
        try:
            return tuple(int(p, 36) for p in parts[:-1])
        except ValueError as exc:
            raise InvalidToken("malformed token") from exc

    # The kinds of token.
    def reply_token(self, conversation_id: int) -> str:
        return self.sign(REPLY, conversation_id)

    def verify_reply_token(self, token: str) -> int:
        return self.verify(REPLY, token, 1)[0]

    def end_user_token(self, end_user_id: int, issued_at: datetime) -> str:
        """The widget's session credential; it carries when it was issued, so sessions can age out or be revoked."""
        return self.sign(END_USER, end_user_id, int(issued_at.timestamp()))

    def verify_end_user_token(self, token: str) -> EndUserClaim:
        end_user_id, issued = self.verify(END_USER, token, 2)
        return EndUserClaim(end_user_id, datetime.fromtimestamp(issued, UTC))

    def return_link_token(self, conversation_id: int, expires_at: datetime) -> str:
        return self.sign(RETURN_LINK, conversation_id, int(expires_at.timestamp()))

    def verify_return_link_token(self, token: str, now: datetime) -> tuple[int, datetime]:
        """The conversation a return link opens and when the link expires; raises InvalidToken."""
        conversation_id, expires = self.verify(RETURN_LINK, token, 2)
        if now.timestamp() > expires:
            raise InvalidToken("expired")
        return conversation_id, datetime.fromtimestamp(expires, UTC)

    def attachment_link_token(self, attachment_id: int, conversation_id: int, expires_at: datetime) -> str:
        """A download link for one attachment, bound to its conversation, valid until expires_at."""
        return self.sign(ATTACHMENT_LINK, attachment_id, conversation_id, int(expires_at.timestamp()))

    def verify_attachment_link_token(self, token: str, now: datetime) -> tuple[int, int]:
        """The attachment and conversation a download link was made for; raises InvalidToken (also when expired)."""
        attachment_id, conversation_id, expires = self.verify(ATTACHMENT_LINK, token, 3)
        if now.timestamp() > expires:
            raise InvalidToken("expired")
        return attachment_id, conversation_id

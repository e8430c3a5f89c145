"""Strict checks of what a client sends: JSON text that can be stored, whole numbers in range, well-formed ids."""
from __future__ import annotations

import json
import re
from typing import Any, TypeGuard

from core.i18n import N_
from widget.errors import ApiError

# Sequence numbers are INTEGER columns (32-bit on PostgreSQL); a larger number can never name a message.
MAX_WHOLE_NUMBER = 2**31 - 1
# Public ids are secrets.token_urlsafe(12) (16 characters); anything else cannot name a conversation.
_PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ASCII_DIGITS = re.compile(r"[0-9]{1,10}")
# Lone surrogates (valid as JSON escapes, not encodable as UTF-8) and NUL (which PostgreSQL text cannot hold).
_NOT_TEXT = re.compile("[\ud800-\udfff\x00]")
# Our tokens are short printable ASCII; anything else is not one (and must not reach hmac.compare_digest on str,
# which raises on non-ASCII text).
_TOKEN = re.compile(r"[!-~]{1,512}")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes | str) -> Any:
    """The JSON value in raw, with every string (keys too) checked to be storable text; raises ApiError."""
    try:
        value = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: deeply nested arrays; ValueError also covers integers of more than 4300 digits.
        raise ApiError("invalid_json", N_("The request body is not valid JSON.")) from None
    check_text(value)
    return value


def parse_json_object(raw: bytes | str) -> dict[str, Any]:
    value = parse_json(raw)
    if not isinstance(value, dict):
        raise ApiError("invalid_json", N_("The request body must be a JSON object."))
    return value


def check_text(value: Any) -> None:
    """Refuse strings anywhere in a parsed JSON value that contain a lone surrogate or NUL (walked without
    recursion)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _NOT_TEXT.search(item):
                raise ApiError("invalid_input", N_("The request contains characters that are not text (a lone "
                                                   "surrogate or NUL); send valid UTF-8 text."))
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def whole_number_text(value: str, name: str) -> int:
    """A query parameter holding a whole number from 0 to MAX_WHOLE_NUMBER, in ASCII digits; raises ApiError."""
    if not _ASCII_DIGITS.fullmatch(value) or int(value) > MAX_WHOLE_NUMBER:
        raise ApiError("invalid_input", N_("{field} must be a whole number from 0 to {limit}."), field=name,
                       limit=MAX_WHOLE_NUMBER)
    return int(value)


def whole_number(value: Any, name: str) -> int:
    """A JSON value holding a whole number from 0 to MAX_WHOLE_NUMBER (not a boolean); raises ApiError."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_WHOLE_NUMBER:
        raise ApiError("invalid_input", N_("{field} must be a whole number from 0 to {limit}."), field=name,
                       limit=MAX_WHOLE_NUMBER)
    return value


def looks_like_token(value: object) -> TypeGuard[str]:
    """Whether value could be one of our tokens at all (printable ASCII, bounded); say no before verifying."""
    return isinstance(value, str) and _TOKEN.fullmatch(value.strip()) is not None


def public_id(value: str) -> str:
    """A conversation id from a path; one that cannot exist looks exactly like a missing one."""
    if not _PUBLIC_ID.fullmatch(value):
        raise ApiError("not_found", N_("There is no conversation {id!r} for you."), id=value[:64])
    return value

"""Which language a notification email is written in: profile, then conversation, then account default, then English."""
from __future__ import annotations

import functools

from babel import Locale, UnknownLocaleError

from core.i18n import negotiate


def email_language(profile_language: str | None, conversation_language: str | None,
                   account_default: str | None) -> str:
    """The first of the end user's profile language, the conversation's language and the account default
    that a catalog exists for, negotiated with Babel (`pt-BR` -> `pt_BR`, `de-AT` -> `de`), else English."""
    return negotiate(profile_language, conversation_language, account_default)


@functools.lru_cache(maxsize=64)
def is_right_to_left(language: str) -> bool:
    """Whether text in language runs right to left (HTML gets dir="rtl")."""
    try:
        return Locale.parse(language).text_direction == "rtl"
    except (ValueError, UnknownLocaleError):
        return False

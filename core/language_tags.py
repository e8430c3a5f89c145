"""Checking a language tag an agent or end user gave: normalized, or refused with a message naming a good one."""
from __future__ import annotations

from core.errors import InvalidInput
from core.i18n import _, normalize_tag


def language_tag(language: str) -> str:
    """normalize_tag, refusing what is not a language tag with a message naming a good one."""
    tag = normalize_tag(language)
    if not tag:
        raise InvalidInput(_("{language!r} is not a language tag; use one such as en, de or pt-BR.").format(
            language=language))
    return tag

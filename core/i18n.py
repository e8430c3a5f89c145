"""Gettext lookup over the catalogs in locale/: language negotiation and translators per language."""
from __future__ import annotations

import functools
import gettext as _gettext
import os
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.support import NullTranslations, Translations

from core.errors import InvalidInput

DOMAIN = "threadline"
DEFAULT_LANGUAGE = "en"


def locale_dir() -> Path:
    """The folder holding `<lang>/LC_MESSAGES/threadline.mo`; THREADLINE_LOCALE_DIR overrides it."""
    override = os.environ.get("THREADLINE_LOCALE_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "locale"


@functools.lru_cache(maxsize=1)
def available_languages() -> tuple[str, ...]:
    """Languages with a compiled catalog, plus English, which the source strings are written in."""
    found = {DEFAULT_LANGUAGE}
    root = locale_dir()
    if root.is_dir():
        for child in root.iterdir():
            if (child / "LC_MESSAGES" / f"{DOMAIN}.mo").is_file():
                found.add(child.name)
    return tuple(sorted(found))


def normalize_tag(tag: str) -> str:
    """Turn a BCP 47 or POSIX tag (`pt-BR`, `pt_br.UTF-8`) into Babel's form (`pt_BR`); '' if unparseable."""
    tag = (tag or "").strip().split(".")[0].split("@")[0].replace("-", "_")
    if not tag:
        return ""
    try:
        return str(Locale.parse(tag))
    except (ValueError, UnknownLocaleError):
        return ""


def language_tag(language: str) -> str:
    """normalize_tag, refusing what is not a language tag with a message naming a good one."""
    tag = normalize_tag(language)
    if not tag:
        raise InvalidInput(_("{language!r} is not a language tag; use one such as en, de or pt-BR.").format(
            language=language))
    return tag


def negotiate(*preferences: str | None) -> str:
    """The first preference a catalog exists for (exact, then by language alone), else English.

    `pt-BR` finds `pt_BR`; `de-AT` falls back to `de`; unknown or empty preferences are skipped.
    """
    available = available_languages()
    for preference in preferences:
        tag = normalize_tag(preference or "")
        if not tag:
            continue
        if tag in available:
            return tag
        language = tag.split("_")[0]
        if language in available:
            return language
        for candidate in available:
            if candidate.split("_")[0] == language:
                return candidate
    return DEFAULT_LANGUAGE


@functools.lru_cache(maxsize=64)
def translations(language: str) -> NullTranslations:
    """The translator for one language; English and unknown languages get the source strings."""
    if language == DEFAULT_LANGUAGE or language not in available_languages():
        return NullTranslations()
    return Translations.load(str(locale_dir()), [language], DOMAIN)


def process_language() -> str:
    """The language of this process's own messages (command line, logs): THREADLINE_LANGUAGE, then LANGUAGE/LC_ALL/LANG."""
    for variable in ("THREADLINE_LANGUAGE", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable)
        if value and value not in ("C", "POSIX"):
            return negotiate(*value.split(":"))
    return DEFAULT_LANGUAGE


def gettext(message: str) -> str:
    return translations(process_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(process_language()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a string for extraction without translating it now (it is translated where it is shown)."""
    return message


_ = gettext

__all__ = [
    "DOMAIN", "DEFAULT_LANGUAGE", "locale_dir", "available_languages", "normalize_tag", "negotiate",
    "translations", "process_language", "gettext", "ngettext", "N_", "_", "_gettext",
]

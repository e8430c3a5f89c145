"""Gettext lookup over the catalogs in locale/: language negotiation and translators per language."""
from __future__ import annotations

import functools
import gettext as _gettext
import os
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.support import NullTranslations, Translations

from core.package_data import optional_package_folder

DOMAIN = "threadline"
DEFAULT_LANGUAGE = "en"


# Where the catalogs are: a wheel carries the compiled ones as core/catalogs (pyproject.toml maps the top-level
# locale/ folder there: locale/ itself stays a plain folder, never a package, since `locale` is a stdlib module);
# a source checkout has them in locale/ beside core/.
PACKAGED_CATALOGS = "catalogs"
SOURCE_CATALOGS = Path(__file__).resolve().parent.parent / "locale"


def locale_dir() -> Path:
    """The folder holding `<lang>/LC_MESSAGES/threadline.mo`: THREADLINE_LOCALE_DIR if set, else the catalogs the
    installed package carries, else the checkout's locale/."""
    override = os.environ.get("THREADLINE_LOCALE_DIR")
    if override:
        return Path(override)
    return optional_package_folder("core", PACKAGED_CATALOGS) or SOURCE_CATALOGS


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
    """The language of this process's own messages (command line, logs): THREADLINE_LANGUAGE, then
    LANGUAGE/LC_ALL/LANG."""
    for variable in ("THREADLINE_LANGUAGE", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable)
        if value and value not in ("C", "POSIX"):
            return negotiate(*value.split(":"))
    return DEFAULT_LANGUAGE


class Translatable(str):
    """Text in this process's language that remembers its msgid and format fields, so that where it is shown it
    can be rendered again in the reader's language (a core error: the console in the agent's, the widget in the
    end user's). It is a str: code that only prints it needs nothing new."""

    msgid: str
    fields: dict[str, Any] | None

    def __new__(cls, text: str, msgid: str, fields: dict[str, Any] | None = None) -> Translatable:
        made = super().__new__(cls, text)
        made.msgid, made.fields = msgid, fields
        return made

    def __reduce__(
        self,
    ) -> tuple[
        type[Translatable], tuple[str, str, dict[str, Any] | None]
    ]:  # pickling and copying (worker results) keep what it remembers
        return (Translatable, (str(self), self.msgid, self.fields))

    def format(self, *args: Any, **kwargs: Any) -> str:
        if args or self.fields is not None:  # positional fields, or formatted twice: plain text from here on
            return str.format(self, *args, **kwargs)
        return Translatable(str.format(self, **kwargs), self.msgid, kwargs)

    def translated_with(self, translator: NullTranslations) -> str:
        text = translator.gettext(self.msgid)
        if self.fields is None:
            return text
        try:
            return text.format(**self.fields)
        except (KeyError, IndexError, ValueError):  # a broken translation: the text as first rendered beats none
            return str(self)

    def in_language(self, language: str | None) -> str:
        return self.translated_with(translations(negotiate(language)))


def in_language(text: str, language: str | None) -> str:
    """text in language when it came from gettext (a Translatable), else text unchanged."""
    return text.in_language(language) if isinstance(text, Translatable) else text


def gettext(message: str) -> str:
    return Translatable(translations(process_language()).gettext(message), message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(process_language()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a string for extraction without translating it now (it is translated where it is shown)."""
    return message


_ = gettext

__all__ = [
    "DEFAULT_LANGUAGE",
    "DOMAIN",
    "N_",
    "Translatable",
    "_",
    "_gettext",
    "available_languages",
    "gettext",
    "in_language",
    "locale_dir",
    "negotiate",
    "ngettext",
    "normalize_tag",
    "process_language",
    "translations",
]

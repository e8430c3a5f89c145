"""The console's own translator: every label is looked up in the agent's language (Agent.language)."""
from __future__ import annotations

from core.i18n import N_, negotiate, translations

__all__ = ["N_", "_", "current_language", "error_text", "set_language"]

_language = "en"


def set_language(language: str | None) -> str:
    """Use the catalog closest to language for every later label; returns the language chosen."""
    global _language
    _language = negotiate(language)
    return _language


def current_language() -> str:
    return _language


def error_text(error) -> str:
    """A core error's message in the agent's language (core raised it in the process's)."""
    return error.in_language(_language)


def _(message: str) -> str:
    return translations(_language).gettext(message)

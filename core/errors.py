"""Domain errors: each names the problem and, where there is one, the fix.

A message made with core.i18n's `_(...).format(...)` remembers its msgid and fields, so each edge shows it in its
reader's language with `in_language` (the console in the agent's, the widget in the end user's); `message` is the
process's language (the command line, logs).
"""
from __future__ import annotations

from babel.support import NullTranslations

from core.i18n import Translatable, in_language


class ThreadlineError(Exception):
    """Base of every error a person may see; its message is meant to be shown as is."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def in_language(self, language: str | None) -> str:
        """The message in language (a catalog language tag; unknown: English)."""
        return in_language(self.message, language)

    def translated_with(self, translator: NullTranslations) -> str:
        """The message through translator (the widget's, chosen for the end user)."""
        return self.message.translated_with(translator) if isinstance(self.message, Translatable) else self.message


class NotFound(ThreadlineError):
    code = "not_found"


class InvalidInput(ThreadlineError):
    code = "invalid_input"


class InvalidTransition(ThreadlineError):
    code = "invalid_transition"


class CredentialRefused(ThreadlineError):
    """A token, link or signature from outside was refused; code says which way, so clients can react."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ConfigError(ThreadlineError):
    code = "config_error"


class PreconditionFailed(ThreadlineError):
    code = "precondition_failed"

    def __init__(self, message: str, missing: list[str] | None = None) -> None:
        super().__init__(message)
        self.missing = list(missing or [])


class DatabaseBusy(ThreadlineError):
    """Another process held the database's write lock past database.write_timeout; nothing was changed."""

    code = "database_busy"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after

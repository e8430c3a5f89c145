"""Masking secrets in text people or log collectors read: known secret values and passwords inside URLs."""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, unquote

MASK = "****"
# Shorter values are not masked one by one (masking every "abc" would garble every line); URLs still are.
MIN_SECRET_CHARS = 4
# scheme://user:password@host -- the password ends at the last '@' before the host (passwords may hold '@' raw).
_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]*:)(?P<password>[^\s/]*)@(?=[^\s@]*)")
_STANDARD_RECORD_FIELDS = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


def mask_url_passwords(text: str) -> str:
    """text with the password of every scheme://user:password@host in it replaced by ****."""
    return _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK if m['password'] else ''}@", text)


class SecretMask:
    """Replaces known secret values (and URL passwords) in text; one per process, fed once the configuration is read."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: list[str] = []
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        """Remember secret values to mask, also in their URL-encoded and URL-decoded forms."""
        with self._lock:
            known = set(self._secrets)
            for secret in secrets:
                if not secret:
                    continue
                known.update(form for form in (secret, quote(secret, safe=""), unquote(secret))
                             if len(form) >= MIN_SECRET_CHARS)
            # Longest first, so a secret containing another is masked whole.
            self._secrets = sorted(known, key=len, reverse=True)

    def __call__(self, text: Any) -> str:
        text = str(text)
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return mask_url_passwords(text)


# The process's mask: the command line adds the configuration's secrets as soon as it has loaded them.
mask = SecretMask()


class MaskingFilter(logging.Filter):
    """A handler filter that masks secrets in a record's message, extra fields and traceback before it is written."""

    def __init__(self, secret_mask: SecretMask = mask) -> None:
        super().__init__()
        self.mask = secret_mask

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.mask(record.getMessage()), None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_RECORD_FIELDS and isinstance(value, str):
                setattr(record, key, self.mask(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


def mask_log_handlers(logger: logging.Logger | None = None) -> None:
    """Put a MaskingFilter on every handler of logger (the root by default) that lacks one."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(existing, MaskingFilter) for existing in handler.filters):
            handler.addFilter(MaskingFilter())

"""Structured log lines for `serve` and `demo`: key=value or JSON, one line per record, control characters escaped."""
from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

from core.masking import mask_log_handlers

_STANDARD_ATTRIBUTES = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}

# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators: a log line carries text from
# people and from the network, and raw, these would end the line early or drive the terminal that shows the log
# (ESC[2J clears it; U+009B is a one-character CSI).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape_control(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


class _StructuredFormatter(logging.Formatter):
    """The fields both formats write: time (UTC, see configure_logging), level, logger, message, extras, traceback."""

    def fields(self, record: logging.LogRecord) -> dict[str, Any]:
        fields: dict[str, Any] = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
                                  "level": record.levelname, "logger": record.name, "msg": record.getMessage()}
        fields.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRIBUTES})
        if record.exc_info or record.exc_text:
            # exc_text first: core.masking's filter leaves the traceback there with secrets masked.
            fields["exc"] = record.exc_text or (self.formatException(record.exc_info) if record.exc_info else "")
        return fields


class KeyValueFormatter(_StructuredFormatter):
    """One line per record: ts=... level=... logger=... msg="..." plus any `extra` fields, quoted when needed."""

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{key}={_quote(value)}" for key, value in self.fields(record).items())


class JsonFormatter(_StructuredFormatter):
    """One JSON object per line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        line = json.dumps(self.fields(record), default=str, ensure_ascii=False)
        # json escapes C0 controls but not DEL, C1 or U+2028/9; outside strings JSON is ASCII, so this only
        # rewrites characters inside strings, into escapes that parse back to the same text.
        return _CONTROL.sub(_escape_control, line)


def _quote(value: Any) -> str:
    text_value = str(value)
    if text_value and not any(c in text_value for c in ' "=\\') and not _CONTROL.search(text_value):
        return text_value
    # Escapes keep one record on one line, and keep user text from forging fields or terminal sequences.
    return json.dumps(text_value, ensure_ascii=True)


def configure_logging(style: str = "keyvalue", level: int | None = None) -> None:
    """Switch the root handlers (set up by the CLI) to structured lines; times in UTC."""
    formatter: logging.Formatter = JsonFormatter() if style == "json" else KeyValueFormatter()
    formatter.converter = time.gmtime
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    for handler in root.handlers:
        handler.setFormatter(formatter)
    mask_log_handlers(root)  # also on handlers set up after the command line's (the demo's log file)
    if level is not None:
        root.setLevel(level)
    for noisy in ("uvicorn.error", "uvicorn.access", "mail.log"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))

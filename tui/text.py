"""Showing text people wrote: literally, as Rich Text, with control characters and escape sequences removed."""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from rich.text import Text

# CSI, OSC, DCS/PM/APC and two-character ESC sequences, 7-bit and C1 forms: removed whole, so no part is shown.
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"          # CSI ... final byte
    r"|(?:\x1b\]|\x9d).*?(?:\x07|\x1b\\|\x9c)"   # OSC ... BEL or ST
    r"|(?:\x1b[PX^_]|[\x90\x98\x9e\x9f]).*?(?:\x1b\\|\x9c)"  # DCS, SOS, PM, APC ... ST
    r"|\x1b[@-Z\\-_]?",                          # other ESC sequences, or a lone ESC
    re.DOTALL,
)


def strip_controls(text: str | None, *, keep_newlines: bool = True) -> str:
    """text without escape sequences and control characters (newline and tab kept when asked)."""
    if not text:
        return ""
    text = _ESCAPE_SEQUENCE.sub("", text)
    kept = []
    for char in text:
        if char in "\n\t" and keep_newlines:
            kept.append(char)
        elif unicodedata.category(char) == "Cc":
            continue
        else:
            kept.append(char)
    return "".join(kept)


def literal(text: str | None, style: str = "", *, one_line: bool = False) -> Text:
    """A Rich Text that shows text exactly as written: markup is not parsed, controls are removed."""
    cleaned = strip_controls(text, keep_newlines=not one_line)
    if one_line:
        cleaned = " ".join(cleaned.split())
    return Text(cleaned, style=style, no_wrap=one_line, overflow="ellipsis" if one_line else "fold")


def plain(text: str | None, limit: int = 80) -> str:
    """One clean line of text, shortened to limit characters, for notifications (shown with markup=False)."""
    cleaned = " ".join(strip_controls(text, keep_newlines=False).split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def short_time(moment: datetime | None, now: datetime) -> str:
    """HH:MM today, else YYYY-MM-DD HH:MM (UTC)."""
    if moment is None:
        return ""
    if moment.date() == now.date():
        return moment.strftime("%H:%M")
    return moment.strftime("%Y-%m-%d %H:%M")

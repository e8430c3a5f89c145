"""Validation of text people write: message bodies and names are plain text, never control codes."""
from __future__ import annotations

import re
import unicodedata

from core.errors import InvalidInput
from core.i18n import _

MAX_BODY_CHARS = 10_000
MAX_NAME_CHARS = 200
_ALLOWED_CONTROLS = {"\n", "\t"}


def find_control_character(text: str) -> str | None:
    """The first control character other than newline and tab (NUL, ESC, C1 codes...), or None."""
    for char in text:
        if char not in _ALLOWED_CONTROLS and unicodedata.category(char) == "Cc":
            return char
    return None


def clean_body(body: str, max_chars: int = MAX_BODY_CHARS) -> str:
    """A message body ready to store: line endings unified, outer blank lines trimmed; raises InvalidInput."""
    if not isinstance(body, str):
        raise InvalidInput(_("The message body must be text."))
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    body = body.strip("\n").rstrip()
    if not body.strip():
        raise InvalidInput(_("The message is empty; write some text before sending."))
    if len(body) > max_chars:
        raise InvalidInput(
            _("The message is {length} characters long; the limit is {limit}. Shorten it or split it.").format(
                length=len(body), limit=max_chars
            )
        )
    bad = find_control_character(body)
    if bad is not None:
        raise InvalidInput(
            _("The message contains the control character U+{code:04X}; remove it and send again.").format(
                code=ord(bad)
            )
        )
    return body


def clean_name(name: str | None, max_chars: int = MAX_NAME_CHARS) -> str | None:
    """A display name on one line, or None when blank; raises InvalidInput on control characters or length."""
    if name is None:
        return None
    name = " ".join(name.split())
    if not name:
        return None
    if len(name) > max_chars:
        raise InvalidInput(_("The name is longer than {limit} characters.").format(limit=max_chars))
    bad = find_control_character(name)
    if bad is not None:
        raise InvalidInput(_("The name contains the control character U+{code:04X}.").format(code=ord(bad)))
    return name


# CSI, OSC, DCS/SOS/PM/APC and two-character ESC sequences, 7-bit and C1 forms: removed whole, so that no
# "[2J" or window title is left behind as if the person had typed it.
ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"                     # CSI ... final byte
    r"|(?:\x1b\]|\x9d).*?(?:\x07|\x1b\\|\x9c)"              # OSC ... BEL or ST
    r"|(?:\x1b[PX^_]|[\x90\x98\x9e\x9f]).*?(?:\x1b\\|\x9c)"  # DCS, SOS, PM, APC ... ST
    r"|\x1b[@-Z\\-_]?",                                     # other ESC sequences, or a lone ESC
    re.DOTALL,
)
# Page and line separators pasted from PDFs and terminals end a line; dropping them would glue words together.
_LINE_BREAKS = str.maketrans({"\f": "\n", "\v": "\n", "\x85": "\n", "\u2028": "\n", "\u2029": "\n"})


def without_control_characters(text: str) -> str:
    """Text people sent by email, made storable: escape sequences and control characters other than newline and
    tab removed, page and line separators turned into newlines. Never refuses; the API refuses instead."""
    text = ESCAPE_SEQUENCE.sub("", text.translate(_LINE_BREAKS))
    if find_control_character(text) is None:
        return text
    return "".join(char for char in text if char in _ALLOWED_CONTROLS or unicodedata.category(char) != "Cc")

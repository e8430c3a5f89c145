"""Canned replies as a TOML file (for version control): read with tomllib, written by a small writer of our own.

    [[macro]]
    name = "Refund issued"
    set_status = "pending"        # optional: queued, open, pending or solved
    assign_to_me = true           # optional
    add_tags = ["refund"]         # optional
    [macro.texts]
    en = "Hi {{ end_user_name }}, your refund is on its way."
    de = "Hallo {{ end_user_name }}, die Erstattung ist unterwegs."
"""
from __future__ import annotations

import json
import tomllib
from typing import Any

from core.errors import InvalidInput
from core.i18n import _
from core.macros import MacroDraft
from core.models import Macro

_KEYS = {"name", "texts", "set_status", "assign_to_me", "add_tags"}


def _string(value: str) -> str:
    # A JSON string is a valid TOML basic string: the same escapes (\" \\ \n \t \uXXXX), nothing else escaped.
    return json.dumps(value, ensure_ascii=False)


def macros_toml(macros: list[Macro]) -> str:
    """The macros as a TOML document that macro_drafts() reads back to the same drafts."""
    parts = ["# Threadline canned replies: `threadline macros import FILE` reads this file back.\n"]
    for macro in macros:
        lines = ["", "[[macro]]", f"name = {_string(macro.name)}"]
        if macro.set_status:
            lines.append(f"set_status = {_string(macro.set_status)}")
        if macro.assign_to_me:
            lines.append("assign_to_me = true")
        if macro.add_tags:
            lines.append("add_tags = [" + ", ".join(_string(str(tag)) for tag in macro.add_tags) + "]")
        lines.append("[macro.texts]")
        lines += [f"{_string(language)} = {_string(str(text))}" for language, text in sorted(macro.texts.items())]
        parts.append("\n".join(lines) + "\n")
    return "".join(parts)


def macro_drafts(text: str) -> list[MacroDraft]:
    """The macros of a TOML document; InvalidInput names the line or the macro that is wrong."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(_("The file is not valid TOML: {reason}").format(reason=exc)) from None
    entries = document.get("macro", [])
    if not isinstance(entries, list) or set(document) - {"macro"}:
        raise InvalidInput(_("The file must hold [[macro]] tables only (see `threadline macros export`)."))
    drafts = []
    for number, entry in enumerate(entries, start=1):
        unknown = sorted(set(entry) - _KEYS)
        if unknown:
            raise InvalidInput(_("Macro {number} has unknown keys: {keys}; use {known}.").format(
                number=number, keys=", ".join(unknown), known=", ".join(sorted(_KEYS))))
        texts: Any = entry.get("texts", {})
        tags: Any = entry.get("add_tags", [])
        if not isinstance(entry.get("name"), str) or not isinstance(texts, dict) \
                or not all(isinstance(v, str) for v in texts.values()) or not isinstance(tags, list) \
                or not isinstance(entry.get("set_status", ""), str) \
                or not isinstance(entry.get("assign_to_me", False), bool):
            raise InvalidInput(_("Macro {number} needs name = \"...\" and a [macro.texts] table of texts; "
                                 "set_status is text, assign_to_me true or false, add_tags a list.").format(
                number=number))
        drafts.append(MacroDraft(entry["name"], dict(texts), entry.get("set_status") or None,
                                 entry.get("assign_to_me", False), tuple(str(tag) for tag in tags)))
    return drafts

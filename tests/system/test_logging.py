"""Structured log lines of `serve`: one line per record, user text quoted and escaped, extra fields as keys."""
from __future__ import annotations

import json
import logging

from threadline.runtime import JsonFormatter, KeyValueFormatter


def _record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("mail.sender", logging.WARNING, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def test_key_value_lines_quote_user_text_so_it_cannot_forge_fields_or_lines() -> None:
    line = KeyValueFormatter().format(_record("sent to %s", 'eve@example.com\nlevel=INFO msg="ok" \x1b[2J', worker="w1"))
    assert "\n" not in line and "\x1b" not in line
    assert line.startswith("ts=") and " level=WARNING logger=mail.sender msg=" in line and line.endswith(" worker=w1")
    assert line.count("level=") == 2 and '\\nlevel=INFO msg=\\"ok\\"' in line  # the forged part stays inside msg


def test_json_lines_parse_back_to_the_same_fields() -> None:
    line = JsonFormatter().format(_record("claimed %d job(s)", 3, url="http://127.0.0.1:8080"))
    fields = json.loads(line)
    assert fields["msg"] == "claimed 3 job(s)" and fields["level"] == "WARNING" and fields["url"] == "http://127.0.0.1:8080"

"""Structured log lines of `serve`: one line per record, user text quoted and escaped, extra fields as keys."""
from __future__ import annotations

import json
import logging

from threadline.structured_logs import JsonFormatter, KeyValueFormatter


def _record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("mail.sender", logging.WARNING, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def test_key_value_lines_quote_user_text_so_it_cannot_forge_fields_or_lines() -> None:
    line = KeyValueFormatter().format(
        _record("sent to %s", 'eve@example.com\nlevel=INFO msg="ok" \x1b[2J', worker="w1")
    )
    assert "\n" not in line and "\x1b" not in line
    assert line.startswith("ts=") and " level=WARNING logger=mail.sender msg=" in line and line.endswith(" worker=w1")
    assert line.count("level=") == 2 and '\\nlevel=INFO msg=\\"ok\\"' in line  # the forged part stays inside msg


def test_json_lines_parse_back_to_the_same_fields() -> None:
    line = JsonFormatter().format(_record("claimed %d job(s)", 3, url="http://127.0.0.1:8080"))
    fields = json.loads(line)
    assert fields["msg"] == "claimed 3 job(s)" and fields["level"] == "WARNING" and fields["url"] == "http://127.0.0.1:8080"


CONTROLS = ["\x1b[2J", "\x9b2J", "\x7f", "\r", "\x00", "a\u2028b", "\u2029"]


def test_key_value_lines_escape_control_characters_even_in_a_value_that_needs_no_quotes() -> None:
    # "\x1b[2J" has no space, quote or "=": it used to pass through raw and clear the terminal showing the log.
    for control in CONTROLS:
        line = KeyValueFormatter().format(_record("%s", control, worker=control))
        assert not any(c in line for c in "\x1b\x9b\x7f\r\x00\u2028\u2029"), repr(line)
        assert line.endswith(" worker=" + json.dumps(control)), line  # quoted, escaped, and it reads back
    assert KeyValueFormatter().format(_record("ok", worker="w1")).endswith(" worker=w1")  # plain stays bare


def test_json_lines_escape_control_characters_and_parse_back_to_the_same_text() -> None:
    # json.dumps escapes C0 but, with ensure_ascii=False, lets DEL, C1 (U+009B is a CSI) and U+2028/9 through.
    for control in CONTROLS:
        line = JsonFormatter().format(_record("%s", control, worker=control))
        assert not any(c in line for c in "\x1b\x9b\x7f\r\x00\u2028\u2029"), repr(line)
        fields = json.loads(line)
        assert fields["msg"] == control and fields["worker"] == control
    assert json.loads(JsonFormatter().format(_record("café ünïcode")))["msg"] == "café ünïcode"  # letters stay

"""Finding 7: inputs that answered 500 (or dropped the socket) must get 400 with a stable code and change nothing."""
from __future__ import annotations

import json

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.security.conftest import dump_tables, start_conversation

SURROGATE = '"\\ud800"'  # JSON text for a lone surrogate: valid JSON, not encodable text


def _error(response) -> str:
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"], body
    return body["error"]["code"]


def _raw_json(**fields: str) -> bytes:
    """A JSON object whose values are given as raw JSON text (so escapes reach the server as written)."""
    return ("{" + ", ".join(f'"{key}": {value}' for key, value in fields.items()) + "}").encode()


@pytest.mark.parametrize("field", ["name", "email", "language", "signature", "channel"])
def test_a_lone_surrogate_in_a_new_conversation_is_refused_with_400(server, http, db, field):
    before = dump_tables(db, frozenset({"rate_limit"}))
    response = http.post("/api/v1/conversations", content=_raw_json(**{field: SURROGATE}),
                         headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and _error(response) == "invalid_input", response.text
    assert dump_tables(db, frozenset({"rate_limit"})) == before


def test_a_lone_surrogate_in_a_message_body_or_a_key_is_refused_with_400(server, http, db):
    started = start_conversation(http, name="Eve")
    auth = {"Authorization": f"Bearer {started['token']}", "Content-Type": "application/json"}
    path = f"/api/v1/conversations/{started['conversation']['id']}/messages"
    before = dump_tables(db, frozenset({"rate_limit"}))
    for body in (_raw_json(body=SURROGATE), _raw_json(body='"hello \\udfff there"'), b'{"\\ud800": "x", "body": "hi"}',
                 _raw_json(body='["nested", {"deep": "\\ud83d"}]')):
        response = http.post(path, content=body, headers=auth)
        assert response.status_code == 400 and _error(response) == "invalid_input", (body, response.text)
    for route, method, body in (
        (f"/api/v1/conversations/{started['conversation']['id']}/read", "POST", _raw_json(seq=SURROGATE)),
        ("/api/v1/me/email", "POST", _raw_json(email=SURROGATE)),
        ("/api/v1/me/identify", "POST", _raw_json(email='"a@example.com"', signature=SURROGATE)),
        ("/api/v1/me/language", "PUT", _raw_json(language=SURROGATE)),
        ("/api/v1/return", "POST", _raw_json(token=SURROGATE)),
    ):
        response = http.request(method, route, content=body, headers=auth)
        assert response.status_code == 400 and _error(response) == "invalid_input", (route, response.text)
    assert dump_tables(db, frozenset({"rate_limit"})) == before


@pytest.mark.parametrize("after", ["1" * 40, "9223372036854775808", "2147483648", "١٢", "²", "-1", "1e3", " 1", ""])
def test_an_after_out_of_range_or_not_ascii_digits_is_refused_with_400(server, http, after):
    started = start_conversation(http)
    response = http.get(f"/api/v1/conversations/{started['conversation']['id']}/messages", params={"after": after},
                        headers={"Authorization": f"Bearer {started['token']}"})
    assert response.status_code == 400 and _error(response) == "invalid_input", response.text


def test_deeply_nested_json_is_refused_with_400(server, http):
    response = http.post("/api/v1/conversations", content=b"[" * 3000 + b"]" * 3000,
                         headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and _error(response) == "invalid_json", response.text


def test_a_nul_in_a_conversation_id_or_a_text_field_is_refused_not_a_500(server, http):
    started = start_conversation(http)
    auth = {"Authorization": f"Bearer {started['token']}"}
    response = http.get("/api/v1/conversations/abc%00def/messages", headers=auth)
    assert response.status_code in (400, 404) and _error(response) in ("invalid_input", "not_found"), response.text
    response = http.post("/api/v1/conversations", json={"name": "a\x00b"})
    assert response.status_code == 400 and _error(response) == "invalid_input", response.text


def _closed_code(ws_url: str, public_id: str, *frames: str | bytes) -> tuple[list[dict], int | None]:
    """Send frames over a real WebSocket; the error frames received and the close code (None: dropped)."""
    received: list[dict] = []
    with connect(f"{ws_url}/api/v1/conversations/{public_id}/live", open_timeout=10, close_timeout=5) as ws:
        for frame in frames:
            ws.send(frame)
        try:
            while True:
                received.append(json.loads(ws.recv(timeout=10)))
        except ConnectionClosed as closed:
            return received, closed.rcvd.code if closed.rcvd else None


@pytest.mark.parametrize("hello", [
    '{"type": "hello", "token": TOKEN, "after": 10000000000000000000000000000000000000000}',
    '{"type": "hello", "token": TOKEN, "after": 9223372036854775808}',
    '{"type": "hello", "token": TOKEN, "after": 1e400}',
    '{"type": "hello", "token": "\\ud800", "after": 0}',
    '{"type": "hello\\ud800", "token": TOKEN}',
    "[" * 3000 + "]" * 3000,
], ids=["after-10e40", "after-2e63", "after-float-inf", "token-surrogate", "type-surrogate", "nested"])
def test_bad_hellos_over_a_real_socket_get_an_error_frame_and_close_4400(server, http, hello):
    started = start_conversation(http)
    frame = hello.replace("TOKEN", json.dumps(started["token"]))
    received, code = _closed_code(server.ws_url, started["conversation"]["id"], frame)
    assert code == 4400, (received, code)
    assert (
        received
        and received[-1]["type"] == "error"
        and received[-1]["error"]["code"] in ("invalid_input", "invalid_json")
    )


def test_a_binary_or_broken_frame_after_hello_keeps_the_socket_and_no_500(server, http, db, clock):
    started = start_conversation(http)
    hello = json.dumps({"type": "hello", "token": started["token"], "after": 0})
    with connect(f"{server.ws_url}/api/v1/conversations/{started['conversation']['id']}/live", open_timeout=10) as ws:
        ws.send(hello)
        assert json.loads(ws.recv(timeout=10))["type"] == "ready"
        for frame in (b"\x00\xff binary", "not json", '{"type": "heartbeat\\ud800"}', "[" * 3000 + "]" * 3000,
                      '{"type": "heartbeat"}'):
            ws.send(frame)
        # Still open and serving: a message posted now is pushed to this socket.
        posted = http.post(
            f"/api/v1/conversations/{started['conversation']['id']}/messages",
            json={"body": "still here"},
            headers={"Authorization": f"Bearer {started['token']}"},
        )
        assert posted.status_code == 201
        while True:
            item = json.loads(ws.recv(timeout=10))
            if item["type"] == "message" and item["message"]["body"] == "still here":
                break


def test_tokens_with_characters_outside_ascii_are_refused_not_a_500(server, http):
    started = start_conversation(http)
    token_head = started["token"].rsplit("-", 1)[0]
    for header in (f"Bearer {token_head}-é", "Bearer 1-ÿÿ", "Bearer é"):
        response = http.get("/api/v1/me", headers={"Authorization": header.encode("latin-1")})
        assert response.status_code == 401 and _error(response) == "unauthorized", (header, response.text)
    response = http.post("/api/v1/return", json={"token": "1-2-é"})
    assert response.status_code == 401 and _error(response) == "invalid_return_link", response.text
    received, code = _closed_code(server.ws_url, started["conversation"]["id"],
                                  json.dumps({"type": "hello", "token": f"{token_head}-é", "after": 0}))
    assert code == 4401 and received[-1]["error"]["code"] == "unauthorized", (received, code)

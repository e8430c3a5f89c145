"""Finding 7, fuzzed: whatever a stranger sends to any API route or over the WebSocket, the server never answers 500
(or drops a socket without a close code), and a refused request never changes the database."""
from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from core.models import Conversation
from tests.security.conftest import dump_tables, start_conversation
from tests.widget.conftest import agent_reply
from widget.errors import ERROR_CODES

# Rate-limit buckets count every request, refused ones too: that is their job, not a change a refusal made.
BOOKKEEPING = frozenset({"rate_limit"})
FUZZ = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Any text, lone surrogates and NUL included (JSON carries them as escapes).
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False) | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=8,
)
# What fits in an HTTP header value (visible Latin-1, no outer blanks): a client library refuses the rest.
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
                      max_size=60).map(str.strip)

# Every route of the JSON API with the body fields it reads; test_every_api_route_is_fuzzed keeps this list whole.
ROUTES: list[tuple[str, str, tuple[str, ...]]] = [
    ("POST", "/api/v1/conversations", ("name", "email", "signature", "language", "channel")),
    ("GET", "/api/v1/conversations/{id}/messages", ()),
    ("POST", "/api/v1/conversations/{id}/messages", ("body", "channel")),
    ("POST", "/api/v1/conversations/{id}/read", ("seq",)),
    ("GET", "/api/v1/conversations/{id}/rating", ()),
    ("PUT", "/api/v1/conversations/{id}/rating", ("score", "comment")),
    ("POST", "/api/v1/conversations/{id}/attachments", ("file",)),
    ("GET", "/api/v1/attachments/{id}", ()),
    ("GET", "/api/v1/me", ()),
    ("POST", "/api/v1/me/email", ("email",)),
    ("POST", "/api/v1/me/identify", ("email", "name", "signature")),
    ("PUT", "/api/v1/me/language", ("language",)),
    ("PUT", "/api/v1/me/email-notifications", ()),
    ("POST", "/api/v1/return", ("token",)),
    ("GET", "/api/v1/availability", ()),
    ("GET", "/widget/strings", ()),
    ("GET", "/api/v1/articles/search", ()),
    ("GET", "/api/v1/conversations/{id}/suggestions", ()),
    ("POST", "/api/v1/conversations/{id}/articles/{article_id}/read", ()),
    ("POST", "/api/v1/conversations/{id}/self-served", ("article_id",)),
]


@pytest.fixture
def victims(server, http) -> dict[str, Any]:
    """Two end users with a conversation each and a message in it: what a stranger could try to reach."""
    mine, theirs = start_conversation(http, name="Mine"), start_conversation(http, name="Theirs")
    for data in (mine, theirs):
        response = http.post(f"/api/v1/conversations/{data['conversation']['id']}/messages", json={"body": "hello"},
                             headers={"Authorization": f"Bearer {data['token']}"})
        assert response.status_code == 201
    return {"mine": mine, "theirs": theirs}


def _requests(victims: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    ids = st.sampled_from([victims["mine"]["conversation"]["id"], victims["theirs"]["conversation"]["id"]]) | any_text
    tokens = st.sampled_from([victims["mine"]["token"], victims["theirs"]["token"]]) | header_text
    authorization = st.none() | tokens.map(lambda t: f"Bearer {t}".strip()) | header_text

    @st.composite
    def request(draw: st.DrawFn) -> dict[str, Any]:
        method, path, fields = draw(st.sampled_from(ROUTES))
        body_fields = {field: draw(json_values | any_text) for field in fields if draw(st.booleans())}
        body = draw(st.one_of(
            st.just(json.dumps(body_fields).encode()),
            json_values.map(lambda value: json.dumps(value).encode()),
            st.binary(max_size=40),
        )) if method != "GET" else b""
        query = draw(st.dictionaries(st.sampled_from(["after", "lang", "q", "limit", "token", "inline"]),
                                     any_text | st.integers().map(str), max_size=2))
        # Percent-encoded as UTF-8 bytes (lone surrogates too, as a hand-made client can send them).
        public_id = quote(draw(ids), safe="", errors="surrogatepass") or "x"
        article_id = quote(draw(st.integers(min_value=-1, max_value=10**30).map(str) | any_text), safe="",
                           errors="surrogatepass") or "1"
        return {"method": method, "path": path.replace("{id}", public_id).replace("{article_id}", article_id),
                "body": body, "query": query, "authorization": draw(authorization),
                "accept_language": draw(st.none() | header_text)}

    return request()


def _send(http: httpx.Client, request: dict[str, Any]) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if request["authorization"] is not None:
        headers["Authorization"] = request["authorization"]
    if request["accept_language"] is not None:
        headers["Accept-Language"] = request["accept_language"]
    query = "&".join(f"{quote(key)}={quote(value, safe='', errors='surrogatepass')}"
                     for key, value in request["query"].items())
    return http.request(request["method"], request["path"] + (f"?{query}" if query else ""), content=request["body"],
                        headers={k: v.encode("latin-1") for k, v in headers.items()})


def test_every_api_route_is_fuzzed(server):
    fuzzed = {(method, path) for method, path, _fields in ROUTES}
    served = {(method, route.path) for route in server.app.routes
              if getattr(route, "path", "").startswith(("/api/", "/widget/strings")) and hasattr(route, "methods")
              for method in route.methods - {"HEAD"}}
    assert served == fuzzed


def test_no_request_gets_a_500_and_a_refused_one_changes_nothing(server, http, db, victims):
    @FUZZ
    @given(request=_requests(victims))
    def attack(request: dict[str, Any]) -> None:
        before = dump_tables(db, BOOKKEEPING)
        response = _send(http, request)
        assert response.status_code < 500, (request, response.status_code, response.text)
        if response.status_code >= 400:
            code = response.json()["error"]["code"]
            assert ERROR_CODES[code] == response.status_code, (request, response.text)
            assert dump_tables(db, BOOKKEEPING) == before, (request, response.text)

    attack()


def _absent(db, public_id: str) -> bool:
    with db.read_session() as session:
        return not session.exec(select(Conversation.end_user_present).where(Conversation.public_id == public_id)).one()


def test_no_websocket_frame_gets_a_dropped_socket_or_a_server_error(server, http, db, clock, victims):
    mine = victims["mine"]
    public_id = mine["conversation"]["id"]
    typing = (json_values | any_text).map(lambda text: json.dumps({"type": "typing", "text": text}))
    frames = json_values.map(json.dumps) | any_text.filter(lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t)) \
        | st.binary(max_size=20) | typing
    # Well-formed hellos with an odd `after` (where the server must check types and ranges), hellos with odd
    # fields anywhere, and noise.
    odd_after = st.sampled_from([0, 2**31, 2**63, 10**40, -1, True, 1.5, "1"]) | json_values
    hellos = st.one_of(
        odd_after.map(lambda after: json.dumps({"type": "hello", "token": mine["token"], "after": after})),
        st.fixed_dictionaries({"type": st.just("hello") | json_values, "token": st.just(mine["token"]) | json_values,
                               "after": odd_after}).map(json.dumps),
        frames,
    )

    @FUZZ
    @given(hello=hellos, then=st.lists(frames, max_size=3))
    def attack(hello: str | bytes, then: list[str | bytes]) -> None:
        before = dump_tables(db, BOOKKEEPING)
        with connect(f"{server.ws_url}/api/v1/conversations/{public_id}/live", open_timeout=10) as ws:
            ws.send(hello)
            try:
                first = json.loads(ws.recv(timeout=10))
            except ConnectionClosed as closed:
                raise AssertionError(f"closed without an error frame: {closed.rcvd}") from None
            if first["type"] == "error":
                with pytest.raises(ConnectionClosed) as closed:
                    ws.recv(timeout=10)
                assert (
                    closed.value.rcvd is not None
                    and closed.value.rcvd.code == 4000 + ERROR_CODES[first["error"]["code"]]
                )
                assert dump_tables(db, BOOKKEEPING) == before, (hello, first)
                return
            assert first["type"] == "ready", first
            for frame in then:
                ws.send(frame)
            # The socket still serves: the end user reading an agent's new reply is pushed to it (messages are
            # pushed only above the client's `after`, which may be anything; read marks always are).
            seq = agent_reply(db, clock, public_id, "probe")
            auth = {"Authorization": f"Bearer {mine['token']}"}
            assert (
                http.post(f"/api/v1/conversations/{public_id}/read", json={"seq": seq}, headers=auth).status_code == 200
            )
            while json.loads(ws.recv(timeout=10)) != {"type": "read", "seq": seq}:
                pass
        # Wait for the server to report the end user gone, so the next example starts from a quiet database.
        deadline = time.monotonic() + 10
        while not _absent(db, public_id):
            assert time.monotonic() < deadline, "presence 'left' was not reported"
            time.sleep(0.01)

    attack()

"""The WebSocket per conversation: hello, replay, pushed messages and read marks, presence, and refusals."""
from __future__ import annotations

import threading

import pytest
from starlette.websockets import WebSocketDisconnect

from tests.widget.conftest import (
    agent_reply,
    bearer,
    conversation_row,
    eventually,
    start,
    within,
)


def _live(public_id: str) -> str:
    return f"/api/v1/conversations/{public_id}/live"


def _hello(ws, token: str, after: int = 0) -> dict:
    ws.send_json({"type": "hello", "token": token, "after": after})
    ready = within(5, ws.receive_json)
    assert ready["type"] == "ready", ready
    return ready


def test_hello_replays_the_backlog_then_pushes_agent_replies(client, db, clock):
    data = start(client)
    public_id, token = data["conversation"]["id"], data["token"]
    first = client.post(
        f"/api/v1/conversations/{public_id}/messages", json={"body": "hi"}, headers=bearer(token)
    ).json()
    with client.websocket_connect(_live(public_id)) as ws:
        ready = _hello(ws, token, after=first["seq"] - 1)
        assert ready["conversation"] == public_id and ready["heartbeat_seconds"] >= 3
        replayed = within(5, ws.receive_json)
        assert replayed == {"type": "message", "message": first}
        seq = agent_reply(db, clock, public_id, "<img src=x onerror=alert(1)>")
        pushed = within(5, ws.receive_json)
        assert pushed["type"] == "message" and pushed["message"]["seq"] == seq
        assert (
            pushed["message"]["body"] == "<img src=x onerror=alert(1)>"
            and pushed["message"]["author_name"] == "Ana Agent"
        )
        # A read mark made elsewhere (another tab) is pushed too, so every tab stops counting it unread.
        client.post(f"/api/v1/conversations/{public_id}/read", json={"seq": seq}, headers=bearer(token))
        assert within(5, ws.receive_json) == {"type": "read", "seq": seq}


def test_sockets_receive_only_their_own_conversations_messages(client, db, clock):
    mine, theirs = start(client), start(client)
    with client.websocket_connect(_live(mine["conversation"]["id"])) as ws:
        _hello(ws, mine["token"], after=conversation_row(db, mine["conversation"]["id"]).last_seq)
        agent_reply(db, clock, theirs["conversation"]["id"], "not for you")
        seq = agent_reply(db, clock, mine["conversation"]["id"], "for you")
        pushed = within(5, ws.receive_json)
        assert pushed["message"]["body"] == "for you" and pushed["message"]["seq"] == seq


@pytest.mark.parametrize("frame, code", [
    ({"type": "hello", "token": "1-forged"}, 4401),
    ({"type": "hello"}, 4401),
    ({"type": "subscribe"}, 4400),
    ({"type": "hello", "after": -1}, 4400),
])
def test_bad_hellos_get_an_error_frame_and_a_close_code(client, frame, code):
    data = start(client)
    if frame.get("after") is not None:
        frame["token"] = data["token"]
    with client.websocket_connect(_live(data["conversation"]["id"])) as ws:
        ws.send_json(frame)
        error = within(5, ws.receive_json)
        assert error["type"] == "error" and error["error"]["message"]
        with pytest.raises(WebSocketDisconnect) as closed:
            within(5, ws.receive_json)
        assert closed.value.code == code


def test_a_token_cannot_follow_someone_elses_conversation(client):
    mine, theirs = start(client), start(client)
    with client.websocket_connect(_live(theirs["conversation"]["id"])) as ws:
        ws.send_json({"type": "hello", "token": mine["token"], "after": 0})
        assert within(5, ws.receive_json)["error"]["code"] == "not_found"
        with pytest.raises(WebSocketDisconnect) as closed:
            within(5, ws.receive_json)
        assert closed.value.code == 4404


def test_foreign_origins_cannot_open_a_socket(client):
    data = start(client)
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect(_live(data["conversation"]["id"]), headers={"Origin": "https://evil.example"}):
            pass
    assert refused.value.code == 4403


def test_presence_follows_the_socket_and_its_heartbeats(client, db, clock, monotonic):
    data = start(client)
    public_id = data["conversation"]["id"]
    assert not conversation_row(db, public_id).end_user_present
    with client.websocket_connect(_live(public_id)) as ws:
        ready = _hello(ws, data["token"], after=conversation_row(db, public_id).last_seq)
        eventually(lambda: conversation_row(db, public_id).end_user_present)
        connected_at = conversation_row(db, public_id).end_user_last_seen_at
        clock.advance(30)
        monotonic.now += ready["heartbeat_seconds"]
        ws.send_json({"type": "heartbeat"})
        eventually(lambda: conversation_row(db, public_id).end_user_last_seen_at > connected_at)
    # Closing the connection stops presence; the conversation itself goes on.
    eventually(lambda: not conversation_row(db, public_id).end_user_present)
    assert conversation_row(db, public_id).status.value != "solved"


def test_one_feed_thread_serves_every_socket_and_presence_lasts_while_one_is_open(client, db):
    data = start(client)
    public_id, token = data["conversation"]["id"], data["token"]
    last = conversation_row(db, public_id).last_seq
    with client.websocket_connect(_live(public_id)) as first:
        _hello(first, token, last)
        with client.websocket_connect(_live(public_id)) as second:
            _hello(second, token, last)
            feeds = [t for t in threading.enumerate() if t.name == "threadline-widget-feed"]
            assert len(feeds) == 1
            assert client.app.state.feed.subscriber_count(conversation_row(db, public_id).id) == 2
            # Closed and let go by the server before the block ends: leaving a TestClient socket cancels whatever
            # its handler still runs, and under load that teardown raced the handler (CancelledError in CI).
            second.close(1000)
            eventually(lambda: client.app.state.feed.subscriber_count(conversation_row(db, public_id).id) == 1)
        assert conversation_row(db, public_id).end_user_present
        first.close(1000)
        eventually(lambda: not conversation_row(db, public_id).end_user_present)


def test_blocked_end_users_cannot_follow_or_return(client, db, clock):
    from core.end_users import EndUserService

    data = start(client)
    row = conversation_row(db, data["conversation"]["id"])
    return_token = client.app.state.desk.return_link_token(row.id)
    with db.session() as session:
        EndUserService(session, clock).block(row.end_user_id)
    with client.websocket_connect(_live(row.public_id)) as ws:
        ws.send_json({"type": "hello", "token": data["token"], "after": 0})
        assert within(5, ws.receive_json)["error"]["code"] == "blocked"
        with pytest.raises(WebSocketDisconnect) as closed:
            within(5, ws.receive_json)
        assert closed.value.code == 4403
    response = client.post("/api/v1/return", json={"token": return_token})
    assert response.status_code == 403 and response.json()["error"]["code"] == "blocked"


def test_connections_per_address_are_limited(make_client, widget_config):
    widget_config.widget.rate_limit_per_minute_per_address = 2
    client = make_client()
    data = start(client)  # one request from this address
    with client.websocket_connect(_live(data["conversation"]["id"])) as ws:
        _hello(ws, data["token"], data["conversation"]["last_seq"])
    with client.websocket_connect(_live(data["conversation"]["id"])) as ws:
        ws.send_json({"type": "hello", "token": data["token"], "after": 0})
        assert within(5, ws.receive_json)["error"]["code"] == "rate_limited"
        with pytest.raises(WebSocketDisconnect) as closed:
            within(5, ws.receive_json)
        assert closed.value.code == 4429


def test_changes_from_another_process_reach_the_socket_by_polling(make_client, db, clock):
    from core.events import Wakeup

    # A wake-up nobody in this test notifies: like an agent console in another process, only the log connects them.
    client = make_client(wakeup=Wakeup())
    data = start(client)
    public_id = data["conversation"]["id"]
    with client.websocket_connect(_live(public_id)) as ws:
        _hello(ws, data["token"], conversation_row(db, public_id).last_seq)
        seq = agent_reply(db, clock, public_id, "from the console")
        pushed = within(5, ws.receive_json)
        assert pushed["message"]["seq"] == seq and pushed["message"]["body"] == "from the console"

"""The JSON API for conversations: start, post, transcript, read marks, and every refusal they can give."""
from __future__ import annotations

from sqlmodel import func, select

from core.models import AuthorKind, Channel, Conversation, EndUser, Message
from tests.widget.conftest import agent_reply, bearer, conversation_row, error_code, start


def test_start_returns_a_token_and_the_conversation_public_id(client, db, signer):
    data = start(client, name="Jörg", email="Jorg@Example.COM", language="de-AT")
    assert data["conversation"]["id"] and data["conversation"]["status"] == "queued"
    assert data["end_user"] == {
        "name": "Jörg",
        "email": "Jorg@example.com",
        "email_verified": False,
        "language": "de_AT",
    }
    row = conversation_row(db, data["conversation"]["id"])
    assert signer.verify_end_user_token(data["token"]).end_user_id == row.end_user_id
    assert row.channel is Channel.messaging


def test_start_with_a_token_starts_another_conversation_for_the_same_end_user(client, db):
    first = start(client)
    response = client.post("/api/v1/conversations", json={}, headers=bearer(first["token"]))
    assert response.status_code == 201
    second = response.json()
    assert second["conversation"]["id"] != first["conversation"]["id"]
    assert (
        conversation_row(db, second["conversation"]["id"]).end_user_id
        == conversation_row(db, first["conversation"]["id"]).end_user_id
    )


def test_start_with_an_invalid_email_is_refused_and_creates_nothing(client, db):
    response = client.post("/api/v1/conversations", json={"email": "not an address"})
    assert response.status_code == 422 and error_code(response) == "invalid_email"
    with db.read_session() as session:
        assert session.exec(select(func.count()).select_from(EndUser)).one() == 0
        assert session.exec(select(func.count()).select_from(Conversation)).one() == 0


def test_start_refuses_fields_that_are_not_text_and_unknown_channels(client):
    response = client.post("/api/v1/conversations", json={"name": 42})
    assert response.status_code == 400 and error_code(response) == "invalid_input"
    response = client.post("/api/v1/conversations", json={"channel": "fax"})
    assert response.status_code == 400 and error_code(response) == "invalid_input"


def test_post_read_the_transcript_and_see_the_agent_reply(client, db, clock):
    data = start(client)
    public_id, headers = data["conversation"]["id"], bearer(data["token"])
    response = client.post(
        f"/api/v1/conversations/{public_id}/messages", json={"body": "Where is my order?"}, headers=headers
    )
    assert response.status_code == 201
    posted = response.json()
    assert (
        posted["author"] == "end_user" and posted["body"] == "Where is my order?" and posted["channel"] == "messaging"
    )
    reply_seq = agent_reply(db, clock, public_id, "It ships today.")
    transcript = client.get(f"/api/v1/conversations/{public_id}/messages", headers=headers).json()
    bodies = [(m["seq"], m["author"], m["body"]) for m in transcript["messages"] if m["author"] != "system"]
    assert bodies[-2:] == [(posted["seq"], "end_user", "Where is my order?"), (reply_seq, "agent", "It ships today.")]
    assert transcript["messages"][-1]["author_name"] == "Ana Agent"
    after = client.get(f"/api/v1/conversations/{public_id}/messages?after={posted['seq']}", headers=headers).json()
    assert [m["seq"] for m in after["messages"]] == [reply_seq]


def test_a_client_may_post_on_the_api_channel(client, db):
    data = start(client, channel="api")
    public_id = data["conversation"]["id"]
    response = client.post(f"/api/v1/conversations/{public_id}/messages", json={"body": "from a bot", "channel": "api"},
                           headers=bearer(data["token"]))
    assert response.status_code == 201 and response.json()["channel"] == "api"
    with db.read_session() as session:
        message = session.exec(select(Message).where(Message.body == "from a bot")).one()
        assert message.channel is Channel.api and message.author_kind is AuthorKind.end_user


def test_bad_transcript_cursor_is_refused(client):
    data = start(client)
    response = client.get(
        f"/api/v1/conversations/{data['conversation']['id']}/messages?after=-1", headers=bearer(data["token"])
    )
    assert response.status_code == 400 and error_code(response) == "invalid_input"


def test_every_conversation_route_needs_a_valid_token(client):
    data = start(client)
    public_id = data["conversation"]["id"]
    for method, path, body in [("GET", f"/api/v1/conversations/{public_id}/messages", None),
                               ("POST", f"/api/v1/conversations/{public_id}/messages", {"body": "hi"}),
                               ("POST", f"/api/v1/conversations/{public_id}/read", {"seq": 0}),
                               ("GET", "/api/v1/me", None),
                               ("POST", "/api/v1/me/email", {"email": "a@example.com"}),
                               ("PUT", "/api/v1/me/language", {"language": "de"})]:
        for headers in ({}, {"Authorization": "Basic abc"}, bearer("1-forgedmac"), bearer(data["token"] + "x")):
            response = client.request(method, path, json=body, headers=headers)
            assert response.status_code == 401 and error_code(response) == "unauthorized", (method, path, headers)


def test_a_token_reaches_only_its_own_conversations(client):
    mine, theirs = start(client), start(client)
    for method, suffix, body in [
        ("GET", "messages", None),
        ("POST", "messages", {"body": "hi"}),
        ("POST", "read", {"seq": 0}),
    ]:
        response = client.request(method, f"/api/v1/conversations/{theirs['conversation']['id']}/{suffix}", json=body,
                                  headers=bearer(mine["token"]))
        assert response.status_code == 404 and error_code(response) == "not_found"
    response = client.get("/api/v1/conversations/doesnotexist/messages", headers=bearer(mine["token"]))
    assert response.status_code == 404 and error_code(response) == "not_found"


def test_empty_oversized_and_malformed_messages_are_refused_and_store_nothing(client, db):
    data = start(client)
    url, headers = f"/api/v1/conversations/{data['conversation']['id']}/messages", bearer(data["token"])
    cases = [
        ({"json": {"body": "   "}}, 400, "invalid_input"),
        ({"json": {}}, 400, "invalid_input"),
        ({"json": {"body": "x" * 201}}, 413, "message_too_large"),
        ({"json": {"body": "bell\x07"}}, 400, "invalid_input"),
        ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 400, "invalid_json"),
        ({"json": ["a", "list"]}, 400, "invalid_json"),
        ({"content": b"{" + b" " * 10_000 + b"}"}, 413, "request_too_large"),
    ]
    for kwargs, status, code in cases:
        extra = kwargs.pop("headers", {})
        response = client.post(url, headers={**headers, **extra}, **kwargs)
        assert response.status_code == status and error_code(response) == code, (kwargs, response.text)
    with db.read_session() as session:
        assert (
            session.exec(
                select(func.count()).select_from(Message).where(Message.author_kind == AuthorKind.end_user)
            ).one()
            == 0
        )


def test_the_message_size_limit_comes_from_the_configuration(client):
    data = start(client)
    response = client.post(f"/api/v1/conversations/{data['conversation']['id']}/messages", json={"body": "x" * 200},
                           headers=bearer(data["token"]))
    assert response.status_code == 201


def test_mark_read_moves_the_end_users_mark_up_only(client, db, clock):
    data = start(client)
    public_id, headers = data["conversation"]["id"], bearer(data["token"])
    seq = agent_reply(db, clock, public_id)
    assert conversation_row(db, public_id).end_user_read_seq < seq
    response = client.post(f"/api/v1/conversations/{public_id}/read", json={"seq": seq}, headers=headers)
    assert response.status_code == 200 and response.json() == {"end_user_read_seq": seq}
    assert conversation_row(db, public_id).end_user_read_seq == seq
    response = client.post(f"/api/v1/conversations/{public_id}/read", json={"seq": 0}, headers=headers)
    assert response.json() == {"end_user_read_seq": seq}


def test_mark_read_refuses_marks_that_are_not_messages(client, db, clock):
    data = start(client)
    public_id, headers = data["conversation"]["id"], bearer(data["token"])
    last = agent_reply(db, clock, public_id)
    for bad in (last + 1, -1, "3", 1.5, True, None):
        response = client.post(f"/api/v1/conversations/{public_id}/read", json={"seq": bad}, headers=headers)
        assert response.status_code == 400 and error_code(response) == "invalid_input", bad
    assert conversation_row(db, public_id).end_user_read_seq == 0


def test_blocked_end_users_are_refused_everywhere(client, db):
    data = start(client)
    public_id, headers = data["conversation"]["id"], bearer(data["token"])
    with db.session() as session:
        end_user = session.get(EndUser, conversation_row(db, public_id).end_user_id)
        end_user.blocked = True
        session.add(end_user)
        session.commit()
    for method, path, body in [("GET", f"/api/v1/conversations/{public_id}/messages", None),
                               ("POST", f"/api/v1/conversations/{public_id}/messages", {"body": "hi"}),
                               ("POST", f"/api/v1/conversations/{public_id}/read", {"seq": 0}),
                               ("POST", "/api/v1/conversations", {}),
                               ("GET", "/api/v1/me", None),
                               ("POST", "/api/v1/me/email", {"email": "a@example.com"}),
                               ("PUT", "/api/v1/me/language", {"language": "de"})]:
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == 403 and error_code(response) == "blocked", (method, path)

"""Issue 18 through the widget's own edges: the rating endpoint (token, idempotent, one per conversation, changeable)
and the WebSocket's typing frames in both directions, with pushed status changes."""
from __future__ import annotations

from sqlmodel import func, select

from core.activity import ActivityService
from core.activity_rules import END_USER, TYPING_TTL
from core.agents import AgentService
from core.conversations import ConversationService
from core.models import Activity, ConversationStatus, Event, Rating
from core.settings import SettingsService
from tests.widget.conftest import bearer, conversation_row, error_code, eventually, start, within


def _rating_url(public_id: str) -> str:
    return f"/api/v1/conversations/{public_id}/rating"


def _solve(db, clock, public_id: str) -> None:
    with db.session() as session:
        ConversationService(session, clock).set_status(conversation_row(db, public_id).id, ConversationStatus.solved)


def _events(db) -> int:
    with db.read_session() as session:
        return session.exec(select(func.count()).select_from(Event)).one()


def test_rating_a_solved_conversation_is_idempotent_and_changeable(client, db, clock):
    data = start(client)
    public_id, headers = data["conversation"]["id"], bearer(data["token"])
    assert client.get(_rating_url(public_id), headers=headers).json() == {"rating": None}
    refused = client.put(_rating_url(public_id), json={"score": "good"}, headers=headers)
    assert refused.status_code == 409 and error_code(refused) == "not_solved"
    _solve(db, clock, public_id)
    first = client.put(_rating_url(public_id), json={"score": "good", "comment": " Fast! "}, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json() == {"rating": {"score": "good", "comment": "Fast!"}}
    events = _events(db)
    again = client.put(_rating_url(public_id), json={"score": "good", "comment": "Fast!"}, headers=headers)
    assert again.json() == first.json() and _events(db) == events  # a retry changes nothing
    changed = client.put(_rating_url(public_id), json={"score": "bad"}, headers=headers)
    assert changed.json() == {"rating": {"score": "bad", "comment": None}}
    assert client.get(_rating_url(public_id), headers=headers).json() == changed.json()
    with db.read_session() as session:
        assert session.exec(select(func.count()).select_from(Rating)).one() == 1


def test_rating_needs_the_end_users_token_and_valid_input(client, db, clock):
    mine, theirs = start(client), start(client)
    public_id = mine["conversation"]["id"]
    _solve(db, clock, public_id)
    assert error_code(client.put(_rating_url(public_id), json={"score": "good"})) == "unauthorized"
    stranger = client.put(_rating_url(public_id), json={"score": "good"}, headers=bearer(theirs["token"]))
    assert stranger.status_code == 404 and error_code(stranger) == "not_found"
    for body in ({"score": "great"}, {}, {"score": "good", "comment": 5}, {"score": "good", "comment": "x" * 2001}):
        response = client.put(_rating_url(public_id), json=body, headers=bearer(mine["token"]))
        assert response.status_code == 400 and error_code(response) == "invalid_input", body
    with db.read_session() as session:
        assert session.exec(select(func.count()).select_from(Rating)).one() == 0


def test_the_socket_pushes_agent_typing_and_status_and_records_end_user_typing(client, db, clock):
    data = start(client)
    public_id, token = data["conversation"]["id"], data["token"]
    conversation_id = conversation_row(db, public_id).id
    with db.session() as session:
        agent_id = AgentService(session, clock).add("dana", "Dana").id
        SettingsService(session, clock).update(typing_preview=True)
    with client.websocket_connect(f"/api/v1/conversations/{public_id}/live") as ws:
        ws.send_json({"type": "hello", "token": token, "after": 0})
        ready = within(5, ws.receive_json)
        assert (ready["type"], ready["status"], ready["rating"]) == ("ready", "queued", None)
        with db.session() as session:
            ActivityService(session, clock).agent_active(conversation_id, agent_id, typing=True)
        assert within(5, ws.receive_json) == {"type": "typing", "typing": True}
        clock.advance(TYPING_TTL)
        assert within(5, ws.receive_json) == {"type": "typing", "typing": False}
        ws.send_json({"type": "typing", "text": "where is my parcel"})
        ws.send_json({"type": "typing", "text": "where is my parcel?"})  # within the interval: not written
        row = eventually(lambda: _end_user_row(db))
        assert row.preview == "where is my parcel"
        _solve(db, clock, public_id)
        assert within(5, ws.receive_json) == {"type": "status", "status": "solved"}
    assert _end_user_row(db).preview == "where is my parcel"


def _end_user_row(db) -> Activity | None:
    with db.read_session() as session:
        return session.exec(select(Activity).where(Activity.participant == END_USER)).first()

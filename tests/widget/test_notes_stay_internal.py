"""Internal notes never reach the widget: not in the HTTP transcript, not over the WebSocket, not in unread counts."""
from __future__ import annotations

import json

from sqlmodel import select

from core.agents import AgentService
from core.collaboration import CollaborationService
from core.models import Conversation
from tests.widget.conftest import agent_reply, bearer, conversation_row, start, within

NOTE = "Internal: refund approved by finance, do not promise more"


def add_note(db, clock, public_id: str, body: str = NOTE) -> None:
    with db.session() as session:
        agents = AgentService(session, clock)
        existing = [a for a in agents.list() if a.handle == "ana"]
        agent = existing[0] if existing else agents.add("ana", "Ana Agent")
        conversation = session.exec(select(Conversation).where(Conversation.public_id == public_id)).one()
        CollaborationService(session, clock).add_note(conversation.id, agent.id, body)


def test_the_transcript_shows_replies_but_never_notes(client, db, clock):
    data = start(client)
    public_id, token = data["conversation"]["id"], data["token"]
    client.post(f"/api/v1/conversations/{public_id}/messages", json={"body": "hi"}, headers=bearer(token))
    add_note(db, clock, public_id)
    seq = agent_reply(db, clock, public_id, "Your refund is on its way")
    add_note(db, clock, public_id, "second note")
    response = client.get(f"/api/v1/conversations/{public_id}/messages", headers=bearer(token))
    assert response.status_code == 200
    assert NOTE not in response.text and "second note" not in response.text
    bodies = [m["body"] for m in response.json()["messages"]]
    assert bodies == ["hi", "Your refund is on its way"] and seq == 2
    me = client.get("/api/v1/me", headers=bearer(token))
    assert NOTE not in me.text


def test_the_websocket_pushes_the_reply_after_a_note_and_nothing_of_the_note(client, db, clock):
    data = start(client)
    public_id, token = data["conversation"]["id"], data["token"]
    with client.websocket_connect(f"/api/v1/conversations/{public_id}/live") as ws:
        ws.send_json({"type": "hello", "token": token, "after": conversation_row(db, public_id).last_seq})
        assert within(5, ws.receive_json)["type"] == "ready"
        add_note(db, clock, public_id)
        seq = agent_reply(db, clock, public_id, "after the note")
        # Frames arrive in log order: had the note been pushed, it would come before the reply.
        frame = within(5, ws.receive_text)
        assert NOTE not in frame
        pushed = json.loads(frame)
        assert pushed["type"] == "message" and pushed["message"]["body"] == "after the note"
        assert pushed["message"]["seq"] == seq

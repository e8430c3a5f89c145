"""Finding 6: a blocked end user's open WebSocket is closed at once (4403), also when another process blocks them."""
from __future__ import annotations

import json
import signal

import httpx
from sqlmodel import select
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from core.agents import AgentService
from core.clock import SystemClock
from core.conversations import ConversationService
from core.end_users import EndUserService
from core.models import Conversation
from tests.system.processes import stop, threadline, wait_for_url, write_config


def _agent_says(db, public_id: str, body: str) -> None:
    clock = SystemClock()
    with db.session() as session:
        agents = AgentService(session, clock)
        agent = next((a for a in agents.list() if a.handle == "ana"), None) or agents.add("ana", "Ana Agent")
        conversation = session.exec(select(Conversation).where(Conversation.public_id == public_id)).one()
        ConversationService(session, clock).post_agent_message(conversation.id, agent.id, body)


def _end_user_id(db, public_id: str) -> int:
    with db.read_session() as session:
        return session.exec(select(Conversation.end_user_id).where(Conversation.public_id == public_id)).one()


def _messages_until_closed(ws) -> tuple[list[dict], int | None]:
    received = []
    try:
        while True:
            received.append(json.loads(ws.recv(timeout=15)))
    except ConnectionClosed as closed:
        return received, closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        return received, None


def test_blocking_in_another_process_closes_the_open_socket_with_4403(db, tmp_path):
    config = write_config(tmp_path, db.url, 25)
    log_path = tmp_path / "serve.log"
    serve = threadline(config, "serve", "--port", "0", log_path=log_path)
    try:
        url = wait_for_url(log_path, serve)
        ws_base = url.replace("http://", "ws://", 1)
        with httpx.Client(base_url=url, timeout=10) as http:
            mallory = http.post("/api/v1/conversations", json={"name": "Mallory"}).json()
            bystander = http.post("/api/v1/conversations", json={"name": "Bea"}).json()
        live = "/api/v1/conversations/{}/live"
        with connect(ws_base + live.format(mallory["conversation"]["id"]), open_timeout=10) as ws, \
                connect(ws_base + live.format(bystander["conversation"]["id"]), open_timeout=10) as other:
            for socket, data in ((ws, mallory), (other, bystander)):
                socket.send(json.dumps({"type": "hello", "token": data["token"], "after": 0}))
                assert json.loads(socket.recv(timeout=10))["type"] == "ready"
            _agent_says(db, mallory["conversation"]["id"], "before the block")
            assert json.loads(ws.recv(timeout=10))["message"]["body"] == "before the block"

            # The agent blocks Mallory from this process (as the console does), then keeps talking in her conversation.
            with db.session() as session:
                EndUserService(session, SystemClock()).block(_end_user_id(db, mallory["conversation"]["id"]))
            _agent_says(db, mallory["conversation"]["id"], "after the block")
            received, code = _messages_until_closed(ws)
            assert code == 4403, (received, code)
            assert [item["error"]["code"] for item in received if item["type"] == "error"] == ["blocked"]
            assert not any(item.get("message", {}).get("body") == "after the block" for item in received), received

            # Someone else's socket is untouched: it still gets its agent's replies.
            _agent_says(db, bystander["conversation"]["id"], "still for you")
            assert json.loads(other.recv(timeout=10))["message"]["body"] == "still for you"

        # Reconnecting does not help.
        with connect(ws_base + live.format(mallory["conversation"]["id"]), open_timeout=10) as again:
            again.send(json.dumps({"type": "hello", "token": mallory["token"], "after": 0}))
            received, code = _messages_until_closed(again)
            assert code == 4403 and received[-1]["error"]["code"] == "blocked"
    finally:
        assert stop(serve, signal.SIGTERM) == 0, log_path.read_text()

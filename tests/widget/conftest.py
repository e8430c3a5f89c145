"""Fixtures for the widget server: the real app over a real database file, a token signer, a test client."""
from __future__ import annotations

import concurrent.futures
from typing import Any

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from core.agents import AgentService
from core.config import Config
from core.conversations import ConversationService
from core.identity import identify_signature
from core.models import Conversation
from core.tokens import TokenSigner
from widget.app import create_app

SECRET = "test-secret-0123456789abcdef"


class StepMonotonic:
    """A monotonic clock for the rate limiter that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def widget_config() -> Config:
    config = Config()
    config.general.secret = SECRET
    config.widget.allowed_origins = ["https://shop.example"]
    config.widget.rate_limit_per_minute = 1000
    config.widget.rate_limit_per_minute_per_address = 1000
    config.widget.max_message_chars = 200
    return config


@pytest.fixture
def signer() -> TokenSigner:
    return TokenSigner(SECRET)


@pytest.fixture
def monotonic() -> StepMonotonic:
    return StepMonotonic()


@pytest.fixture
def make_client(db, clock, signer, widget_config, monotonic):
    """Builds a TestClient over the real app (lifespan running); config may be changed before calling."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        app = create_app(widget_config, db, clock, signer, monotonic=monotonic, poll_interval=0.05, **overrides)
        client = TestClient(app, base_url="http://widget.test")
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client) -> TestClient:
    return make_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def start(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/conversations", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def conversation_row(db, public_id: str) -> Conversation:
    with db.read_session() as session:
        return session.exec(select(Conversation).where(Conversation.public_id == public_id)).one()


def agent_reply(db, clock, public_id: str, body: str = "Hello from the team") -> int:
    """An agent (added on first use) answers in the conversation; returns the message's seq."""
    with db.session() as session:
        agents = AgentService(session, clock)
        existing = [a for a in agents.list() if a.handle == "ana"]
        agent = existing[0] if existing else agents.add("ana", "Ana Agent")
        conversation = session.exec(select(Conversation).where(Conversation.public_id == public_id)).one()
        return ConversationService(session, clock).post_agent_message(conversation.id, agent.id, body).seq


def error_code(response) -> str:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["message"], body
    return body["error"]["code"]


def identity(config: Config, clock, email: str, user_id: str = "user-1", *, name: str | None = None,
             expires_in: int = 600) -> dict[str, Any]:
    """identify()'s fields as a host website's backend signs them (user id, email and expiry together)."""
    from core.identity import widget_secret

    expires_at = int(clock.now().timestamp()) + expires_in
    secret = widget_secret(config.widget.widget_secret, config.general.secret)
    fields: dict[str, Any] = {"user_id": user_id, "email": email, "expires_at": expires_at,
                              "signature": identify_signature(secret, user_id, email, expires_at)}
    if name is not None:
        fields["name"] = name
    return fields


def within(seconds: float, call, *args: Any) -> Any:
    """Run a blocking call (a WebSocket receive) but fail instead of hanging when nothing comes."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(call, *args).result(timeout=seconds)
    finally:
        pool.shutdown(wait=False)


def eventually(check, timeout: float = 5.0) -> Any:
    """Poll check() until it returns something truthy: for effects the server applies after answering."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            assert result, "condition not reached in time"
            return result
        time.sleep(0.02)

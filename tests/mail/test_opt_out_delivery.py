"""Opt-out end to end: the List-Unsubscribe headers and footer of a real notification, a one-click POST over HTTP to
the widget server stops the next notification (scheduler, sender, aiosmtpd), the page's undo, the mailto through
inbound routing, and what lifts a stop."""
from __future__ import annotations

import asyncio
import socket
from email.message import EmailMessage
from email.utils import make_msgid

import httpx
import pytest
import uvicorn
from sqlmodel import select
from starlette.testclient import TestClient

from core.config import Config
from core.conversations import ConversationService
from core.models import Conversation, Event, OutboxJob
from core.opt_outs import OptOutService
from core.settings import SettingsService
from mail.routing import file_raw_email
from mail.scheduler import NotificationScheduler
from mail.sender import OutboxSender
from tests.fixtures.smtp import mail_config
from widget.app import create_app


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _due(world, body: str = "We fixed it.") -> int:
    with world.db.session() as session:
        SettingsService(session, world.clock).update(continuous_conversations=True, inactivity_minutes=5)
        service = ConversationService(session, world.clock)
        end_user = service.create_end_user("Alex", "alex@example.org", "de", email_verified=True)
        conversation = service.start_conversation(end_user.id)
        service.post_end_user_message(conversation.id, "Secret order details 4711")
        service.post_agent_message(conversation.id, world.agent_id, body)
    world.advance(5 * 60)
    return conversation.id


def _reply_again(world, conversation_id: int, body: str = "One more thing.") -> None:
    with world.db.session() as session:
        ConversationService(session, world.clock).post_agent_message(conversation_id, world.agent_id, body)
    world.advance(5 * 60)


async def _send_due(world, config: Config) -> int:
    scheduler = NotificationScheduler(world.db, world.clock, world.signer, message_id_domain="example.com")
    claimed = await scheduler.run_once()
    sender = OutboxSender(world.db, config, world.signer, world.clock, worker_id="t", rng=lambda: 0.5)
    await sender.run_once()
    await sender.pool.close()
    return claimed


class WidgetServer:
    """The real widget app under uvicorn on 127.0.0.1, in this event loop."""

    def __init__(self, config: Config, world) -> None:
        self.port = config.widget.port
        app = create_app(config, world.db, world.clock, world.signer)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> WidgetServer:
        self.task = asyncio.create_task(self.server.serve())
        for _ in range(500):  # readiness of the socket, not a rule's timing
            if self.server.started:
                return self
            await asyncio.sleep(0.01)
        raise RuntimeError("the widget server did not start")

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        assert self.task is not None
        await asyncio.wait_for(self.task, 10)


@pytest.fixture
def http_config(smtp_server) -> Config:
    config = mail_config(smtp_server.port)
    config.widget.port = _free_port()
    config.widget.public_url = f"http://127.0.0.1:{config.widget.port}"
    return config


async def test_one_click_post_stops_the_next_notification(world, smtp_server, http_config):
    conversation_id = _due(world)
    assert await _send_due(world, http_config) == 1
    [first] = smtp_server.received
    message = first.message
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link, mailto = [part.strip().strip("<>") for part in str(message["List-Unsubscribe"]).split(",")]
    assert link.startswith(f"{http_config.widget.public_url}/unsubscribe/")
    assert mailto.startswith("mailto:help+unsubscribe-") and mailto.endswith("@example.com")
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert link in text
    assert link in message.get_body(("html",)).get_content()  # type: ignore[union-attr]

    async with WidgetServer(http_config, world):
        async with httpx.AsyncClient() as client:
            # What a mail client sends (RFC 8058 section 3.2): no cookies, no CSRF token, no Origin.
            for _ in range(2):  # idempotent
                response = await client.post(link, content=b"List-Unsubscribe=One-Click",
                                             headers={"Content-Type": "application/x-www-form-urlencoded"})
                assert response.status_code == 200
                assert "Secret order" not in response.text and "alex@example.org" not in response.text
            page = await client.get(link)
            assert page.status_code == 200 and "/undo" in page.text
            assert '<html lang="de"' in page.text  # the email's language, not the browser's
            assert "Secret order" not in page.text and "We fixed it" not in page.text
            forged = await client.post(link[:-2] + "xx", content=b"List-Unsubscribe=One-Click")
            assert forged.status_code == 404

    with world.db.read_session() as session:
        opt_out = OptOutService(session, world.clock).get("alex@example.org")
        assert opt_out is not None and opt_out.source == "one-click" and opt_out.stopped_at == world.clock.now()

    _reply_again(world, conversation_id)
    assert await _send_due(world, http_config) == 0
    assert len(smtp_server.received) == 1
    with world.db.read_session() as session:
        assert len(list(session.exec(select(OutboxJob)))) == 1
        assert session.exec(select(Event).where(Event.kind == "notification.suppressed")).first() is not None


async def test_undo_on_the_page_lets_notifications_through_again(world, smtp_server, http_config):
    conversation_id = _due(world)
    await _send_due(world, http_config)
    link = str(smtp_server.received[0].message["List-Unsubscribe"]).split(",")[0].strip().strip("<>")
    async with WidgetServer(http_config, world):
        async with httpx.AsyncClient() as client:
            assert (await client.post(link, data={"List-Unsubscribe": "One-Click"})).status_code == 200
            undone = await client.post(link + "/undo", headers={"Origin": http_config.widget.public_url})
            assert undone.status_code == 200
    _reply_again(world, conversation_id)
    assert await _send_due(world, http_config) == 1
    assert len(smtp_server.received) == 2


def _inbound(world, to: str, sender: str = "alex@example.org", body: str = "unsubscribe") -> None:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = "unsubscribe"
    message["Message-ID"] = make_msgid(domain="example.org")
    message.set_content(body)
    with world.db.session() as session:
        file_raw_email(session, world.clock, mail_config(25), world.signer, message.as_bytes())


async def test_the_mailto_stops_and_writing_again_lifts(world, smtp_server, http_config):
    conversation_id = _due(world)
    await _send_due(world, http_config)
    mailto = str(smtp_server.received[0].message["List-Unsubscribe"]).split(",")[1].strip().strip("<>")
    _inbound(world, mailto.removeprefix("mailto:"))
    with world.db.read_session() as session:
        opt_out = OptOutService(session, world.clock).get("alex@example.org")
        assert opt_out is not None and opt_out.source == "email"
        # The request itself is no message in the conversation.
        assert session.get(Conversation, conversation_id).last_seq == 2
    _reply_again(world, conversation_id)
    assert await _send_due(world, http_config) == 0

    reply_to = smtp_server.received[0].message["Reply-To"].addresses[0].addr_spec
    _inbound(world, reply_to, body="Actually, I still need help.")
    with world.db.read_session() as session:
        assert OptOutService(session, world.clock).get("alex@example.org") is None
    _reply_again(world, conversation_id)
    assert await _send_due(world, http_config) == 1


def test_the_widget_turns_emails_back_on(world, http_config):
    from core.opt_outs import OptOutSource

    with world.db.session() as session:
        service = ConversationService(session, world.clock)
        end_user = service.create_end_user("Alex", "alex@example.org", "en", email_verified=True)
        OptOutService(session, world.clock).stop("alex@example.org", OptOutSource.one_click)
        token = world.signer.end_user_token(end_user.id, world.clock.now())
    client = TestClient(create_app(http_config, world.db, world.clock, world.signer))
    assert client.put("/api/v1/me/email-notifications").status_code == 401
    response = client.put("/api/v1/me/email-notifications", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.json() == {"email_notifications": "on", "changed": True}
    with world.db.read_session() as session:
        assert OptOutService(session, world.clock).get("alex@example.org") is None


def test_the_page_is_rate_limited(world, http_config):
    http_config.widget.rate_limit_per_minute_per_address = 3
    client = TestClient(create_app(http_config, world.db, world.clock, world.signer))
    codes = [client.get("/unsubscribe/1-aaaaaaaaaaaaaaaaaaaaaaaaaa").status_code for _ in range(6)]
    assert codes[0] == 404 and 429 in codes

"""Identity attacks on a running `threadline demo --headless`, made as a stranger would: HTTP to the widget API,
SMTP to the support address, IMAP to read what reached a mailbox. The agent's side goes through core, as the
console does. One attack per test, each reproducing a finding of issue 11."""
from __future__ import annotations

import email.policy
import email.utils
import imaplib
import smtplib
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from core.clock import SystemClock
from core.db import Database
from core.end_users import EndUserService
from core.identity import identify_signature, widget_secret
from core.models import Conversation, EndUser, Event, OutboxJob
from core.tokens import TokenSigner
from tests.system.test_demo import _agent_replies, running_demo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with running_demo(tmp_path_factory.mktemp("attacks"), inactivity_seconds=1) as state:
        database = Database(state["database_url"])
        state["db"] = database
        yield state
        database.dispose()


@pytest.fixture
def widget(demo: dict[str, Any]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=demo["url"], timeout=10) as client:
        yield client


def until(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Wait for an effect the demo applies in the background (mail delivery, the scheduler)."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(0.1)


def chat(widget: httpx.Client, text: str, **profile: Any) -> tuple[dict[str, str], str, str]:
    started = widget.post("/api/v1/conversations", json=profile)
    assert started.status_code == 201, started.text
    token, public_id = started.json()["token"], started.json()["conversation"]["id"]
    auth = {"Authorization": f"Bearer {token}"}
    assert (
        widget.post(f"/api/v1/conversations/{public_id}/messages", headers=auth, json={"body": text}).status_code == 201
    )
    return auth, public_id, token


def inbox(demo: dict[str, Any], address: str) -> list[EmailMessage]:
    with imaplib.IMAP4("127.0.0.1", demo["imap_port"], timeout=10) as client:
        client.login(address, demo["mailbox_password"])
        client.select("INBOX", readonly=True)
        _status, data = client.search(None, "ALL")
        found = []
        for number in (data[0] or b"").split():
            _status, fetched = client.fetch(number, "(BODY.PEEK[])")
            raw = next(part[1] for part in fetched if isinstance(part, tuple))
            found.append(email.message_from_bytes(raw, policy=email.policy.default))
        return found


def send_email(demo: dict[str, Any], sender: str, text: str) -> str:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = demo["support_address"]
    message["Subject"] = "Question about my invoice"
    message["Message-ID"] = email.utils.make_msgid(domain="example.net")
    message["Date"] = email.utils.formatdate()
    message.set_content(text)
    with smtplib.SMTP("127.0.0.1", demo["smtp_port"], timeout=10) as smtp:
        smtp.send_message(message)
    return message["Message-ID"]


def conversation_of(demo: dict[str, Any], public_id: str) -> Conversation:
    with demo["db"].read_session() as session:
        return session.exec(select(Conversation).where(Conversation.public_id == public_id)).one()


def test_an_address_typed_into_the_widget_does_not_capture_that_persons_email(demo, widget) -> None:
    # The stranger types Bob's address first.
    stranger_auth, stranger_conversation, _token = chat(widget, "Hi, it is me, Bob", email="bob@example.net")
    # Bob writes to support by email, without any token.
    message_id = send_email(demo, "Bob Example <bob@example.net>", "My invoice 7781 charges me twice.")

    def bobs_conversation() -> Conversation | None:
        with demo["db"].read_session() as session:
            return session.exec(select(Conversation).join(EndUser, EndUser.id == Conversation.end_user_id)
                                .where(Conversation.channel == "email", EndUser.email == "bob@example.net")).first()

    bobs = until(bobs_conversation, what="Bob's email filed")
    stranger = conversation_of(demo, stranger_conversation)
    assert bobs.end_user_id != stranger.end_user_id
    seen = widget.get(f"/api/v1/conversations/{stranger_conversation}/messages", headers=stranger_auth).json()
    assert all("7781" not in m["body"] for m in seen["messages"])
    assert widget.get(f"/api/v1/conversations/{bobs.public_id}/messages", headers=stranger_auth).status_code == 404
    # The stranger now moves "their" address elsewhere; the agent answers Bob; the answer goes to Bob alone.
    moved = widget.post("/api/v1/me/email", headers=stranger_auth, json={"email": "mallory@example.org"})
    assert moved.status_code == 200
    _agent_replies(demo["database_url"], bobs.public_id, "Refund for invoice 7781 is on its way.")
    notified = until(lambda: [m for m in inbox(demo, "bob@example.net")
                              if "Refund for invoice 7781" in m.get_body(("plain",)).get_content()],
                     what="the reply emailed to Bob")
    assert "My invoice 7781 charges me twice." in notified[0].get_body(("plain",)).get_content()
    with demo["db"].read_session() as session:
        recipients = set(session.exec(select(OutboxJob.to_address).where(OutboxJob.conversation_id == bobs.id)))
    assert recipients == {"bob@example.net"}
    assert message_id


def test_the_unverified_cap_holds_per_address_across_widget_sessions(demo, widget) -> None:
    conversations = [chat(widget, f"Hello {n}", email="alice@example.net")[1] for n in range(6)]
    for public_id in conversations:
        _agent_replies(demo["database_url"], public_id, "We will look into it.")
    ids = [conversation_of(demo, public_id).id for public_id in conversations]

    def settled() -> bool:  # every conversation either emailed or deferred by the cap
        with demo["db"].read_session() as session:
            jobs = session.exec(select(func.count()).select_from(OutboxJob)
                                .where(OutboxJob.conversation_id.in_(ids))).one()
            deferred = session.exec(select(func.count()).select_from(Event)
                                    .where(Event.kind == "notification.deferred", Event.conversation_id.in_(ids))).one()
            return jobs + deferred >= 6 and jobs

    until(settled, what="six notifications claimed or deferred")
    until(lambda: len(inbox(demo, "alice@example.net")) >= 3, what="three emails delivered")
    with demo["db"].read_session() as session:
        assert (
            session.exec(select(func.count()).select_from(OutboxJob).where(OutboxJob.conversation_id.in_(ids))).one()
            == 3
        )
    assert len([m for m in inbox(demo, "alice@example.net") if "We will look into it." in m.as_string()]) == 3


def _signed(demo: dict[str, Any], user_id: str, address: str, expires_in: int) -> dict[str, Any]:
    secret = widget_secret("", demo["secret"])
    expires_at = int(time.time()) + expires_in
    return {"user_id": user_id, "email": address, "expires_at": expires_at,
            "signature": identify_signature(secret, user_id, address, expires_at)}


def test_a_seen_identify_signature_cannot_be_replayed_and_an_expired_one_is_refused(demo, widget) -> None:
    victim_auth = chat(widget, "Signed in as Ada")[0]
    signed = _signed(demo, "ada-1", "ada@example.com", 600)
    assert widget.post("/api/v1/me/identify", headers=victim_auth, json=signed).status_code == 200
    # The attacker copied the signature from the page and replays it in a session of their own.
    attacker_auth = chat(widget, "I am Ada too")[0]
    replay = widget.post("/api/v1/me/identify", headers=attacker_auth, json=signed)
    assert replay.status_code == 403 and replay.json()["error"]["code"] == "identify_used"
    fresh_start = widget.post("/api/v1/conversations", json=signed)
    assert fresh_start.status_code == 403 and fresh_start.json()["error"]["code"] == "identify_used"
    # An old signature (here: expired a second ago) opens nothing either.
    expired = widget.post("/api/v1/me/identify", headers=attacker_auth,
                          json=_signed(demo, "ada-1", "ada@example.com", -1))
    assert expired.status_code == 403 and expired.json()["error"]["code"] == "identity_expired"
    # A signature over another email or user id is not a signature for this one.
    forged = {**_signed(demo, "ada-1", "ada@example.com", 600), "user_id": "mallory"}
    assert (
        widget.post("/api/v1/me/identify", headers=attacker_auth, json=forged).json()["error"]["code"]
        == "invalid_signature"
    )


def test_return_links_work_once_and_tokens_die_with_a_block(demo, widget) -> None:
    _auth, public_id, token = chat(widget, "Where is my parcel?")
    conversation = conversation_of(demo, public_id)
    signer = TokenSigner(demo["secret"])
    link = signer.return_link_token(conversation.id, SystemClock().now() + timedelta(hours=1))
    first = widget.post("/api/v1/return", json={"token": link})
    assert first.status_code == 200
    fresh = signer.verify_end_user_token(first.json()["token"])  # issued now, so it ages out and can be revoked
    assert fresh.end_user_id == conversation.end_user_id
    assert abs((fresh.issued_at - SystemClock().now()).total_seconds()) < 120
    again = widget.post("/api/v1/return", json={"token": link})
    assert again.status_code == 410 and again.json()["error"]["code"] == "return_link_used"
    # Blocking revokes every token the person holds: the old one and the one the link gave.
    with demo["db"].session() as session:
        EndUserService(session, SystemClock()).block(conversation.end_user_id)
    for held in (token, first.json()["token"]):
        answer = widget.get("/api/v1/me", headers={"Authorization": f"Bearer {held}"})
        assert answer.status_code in (401, 403), answer.text
    with demo["db"].session() as session:
        EndUserService(session, SystemClock()).unblock(conversation.end_user_id)
    for held in (token, first.json()["token"]):
        answer = widget.get("/api/v1/me", headers={"Authorization": f"Bearer {held}"})
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "unauthorized"

"""Data-protection requests (core.data_requests and `threadline end-user`): the export holds everything about the end
user and nobody else; erasure removes it in one transaction and leaves an audit event without personal data."""
from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from core.agents import AgentService
from core.conversations import ConversationService
from core.data_requests import ERASED_MARKER, DataRequestService
from core.db import Database
from core.errors import InvalidInput, NotFound
from core.event_kinds import EventKind
from core.events import record_event
from core.identity import IdentityService
from core.models import (
    Conversation,
    EndUser,
    Event,
    InboundEmail,
    InboundOutcome,
    Message,
    OutboxJob,
    OutboxStatus,
    VerifiedAddress,
)
from tests.core.test_cli_and_schema import run_cli

RAW = b"From: Alice <alice@example.net>\r\nSubject: my parcel\r\n\r\nMy address is 1 Elm Street.\r\n"


def desk(db: Database, clock) -> dict[str, int]:
    """Alice (two conversations, an email reply, a notification, a proven address) and Bob (one conversation)."""
    with db.session() as session:
        agent = AgentService(session, clock).add("ann", "Ann Agent")
        conversations = ConversationService(session, clock)
        alice = conversations.create_end_user("Alice Example", "alice@example.net", "de")
        bob = conversations.create_end_user("Bob", "bob@example.org")
        first = conversations.start_conversation(alice.id).id
        conversations.post_end_user_message(first, "My address is 1 Elm Street.")
        conversations.post_agent_message(first, agent.id, "Thanks, we will look.")
        second = conversations.start_conversation(alice.id).id
        conversations.post_end_user_message(second, "Second question, phone 555-0100.")
        IdentityService(session, clock).prove(alice.id, "alice@example.net", "agent")
        bobs = conversations.start_conversation(bob.id).id
        conversations.post_end_user_message(bobs, "Bob's own words.")
        session.add(InboundEmail(message_id="<r1@example.net>", mailbox="INBOX", uid=1, sender="alice@example.net",
                                 sender_name="Alice", subject="my parcel", outcome=InboundOutcome.posted,
                                 conversation_id=first, text="My address is 1 Elm Street.", raw_source=RAW,
                                 received_at=clock.now()))
        session.add(InboundEmail(message_id="<h1@example.net>", mailbox="INBOX", uid=2, sender="alice@example.net",
                                 subject="held one", outcome=InboundOutcome.held, raw_source=RAW,
                                 received_at=clock.now()))
        session.add(InboundEmail(message_id="<b1@example.org>", mailbox="INBOX", uid=3, sender="bob@example.org",
                                 subject="bob's", outcome=InboundOutcome.held, raw_source=b"bob",
                                 received_at=clock.now()))
        session.add(OutboxJob(conversation_id=first, idempotency_key="n-1", first_seq=2, last_seq=2,
                              to_address="alice@example.net", address_key="alice@example.net",
                              message_id="<n1@example.com>", status=OutboxStatus.sent, next_attempt_at=clock.now(),
                              created_at=clock.now(), payload={"subject": "Antwort"},
                              last_error="550 alice@example.net unknown"))
        record_event(session, clock.now(), EventKind.inbound_sender_limited, None, sender="alice@example.net")
        session.commit()
        return {"alice": alice.id, "bob": bob.id, "first": first, "second": second, "bobs": bobs}


def everything_about_bob(db: Database, clock, ids: dict[str, int]) -> dict:
    with db.read_session() as session:
        return DataRequestService(session, clock).export(ids["bob"])


def test_finding_the_end_user_by_email_id_or_public_id(db, clock):
    ids = desk(db, clock)
    with db.session() as session:
        service = DataRequestService(session, clock)
        public_id = session.get(EndUser, ids["alice"]).public_id
        assert service.find("Alice@Example.NET").id == ids["alice"]
        assert service.find(str(ids["alice"])).id == ids["alice"]
        assert service.find(public_id).id == ids["alice"]
        with pytest.raises(NotFound):
            service.find("nobody@example.net")
        ConversationService(session, clock).create_end_user("Other Alice", "alice@example.net")
        session.commit()
        with pytest.raises(InvalidInput, match="Several end users"):
            service.find("alice@example.net")


def test_the_export_holds_everything_about_the_end_user_and_nothing_about_others(db, clock):
    ids = desk(db, clock)
    with db.session() as session:
        exported = DataRequestService(session, clock).export(ids["alice"])
    json.dumps(exported)  # JSON-ready as it is
    assert exported["end_user"]["email"] == "alice@example.net" and exported["end_user"]["name"] == "Alice Example"
    assert [row["address"] for row in exported["verified_addresses"]] == ["alice@example.net"]
    assert {row["id"] for row in exported["conversations"]} == {ids["first"], ids["second"]}
    bodies = [row["body"] for row in exported["messages"]]
    assert "My address is 1 Elm Street." in bodies and "Thanks, we will look." in bodies
    assert "Second question, phone 555-0100." in bodies and "Bob's own words." not in bodies
    assert {row["message_id"] for row in exported["inbound_emails"]} == {"<r1@example.net>", "<h1@example.net>"}
    assert base64.b64decode(exported["inbound_emails"][0]["raw_source_base64"]) == RAW
    assert [row["to_address"] for row in exported["outbox_jobs"]] == ["alice@example.net"]
    kinds = {row["kind"] for row in exported["events"]}
    assert {"conversation.started", "message.posted", "inbound.sender_limited"} <= kinds
    assert all(row["conversation_id"] in (None, ids["first"], ids["second"]) for row in exported["events"])


def test_erasure_removes_the_person_keeps_the_conversation_shape_and_leaves_others_alone(db, clock):
    ids = desk(db, clock)
    bob_before = everything_about_bob(db, clock, ids)
    with db.session() as session:
        summary = DataRequestService(session, clock).erase(ids["alice"], "cli")
    assert summary.messages_erased == 2 and summary.inbound_emails_deleted == 2 and summary.outbox_jobs_anonymised == 1

    with db.read_session() as session:
        alice = session.get(EndUser, ids["alice"])
        assert (alice.name, alice.email, alice.email_verified) == (None, None, False)
        assert alice.sessions_valid_after is not None
        assert not session.exec(select(VerifiedAddress).where(VerifiedAddress.end_user_id == ids["alice"])).all()
        messages = session.exec(select(Message).where(Message.conversation_id.in_([ids["first"], ids["second"]]))
                                .order_by(Message.conversation_id, Message.seq)).all()
        by_author = {(m.author_kind.value, m.body) for m in messages}
        assert ("end_user", ERASED_MARKER) in by_author and ("agent", "Thanks, we will look.") in by_author
        assert not any("Elm Street" in m.body or "555-0100" in m.body for m in messages)
        assert [i.message_id for i in session.exec(select(InboundEmail))] == ["<b1@example.org>"]
        job = session.exec(select(OutboxJob)).one()
        assert (job.to_address, job.payload, job.last_error, job.status) == ("", None, None, OutboxStatus.sent)
        assert all(c.notify_email is None for c in session.exec(select(Conversation).where(
            Conversation.end_user_id == ids["alice"])))
        dumped = json.dumps([e.payload for e in session.exec(select(Event))])
        assert "alice@example.net" not in dumped and "Alice Example" not in dumped
        audit = session.exec(select(Event).where(Event.kind == EventKind.end_user_erased.value)).one()
        assert audit.payload == {"by": "cli", **summary.as_payload()}
    after = everything_about_bob(db, clock, ids)
    assert {k: v for k, v in after.items() if k != "exported_at"} == \
        {k: v for k, v in bob_before.items() if k != "exported_at"}


def refuse_the_audit_event(db: Database) -> None:
    """A database trigger that refuses the erasure's audit event: the last write of the transaction fails."""
    with db.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.execute(text("CREATE TRIGGER refuse_erased BEFORE INSERT ON event "
                                    "WHEN NEW.kind = 'end_user.erased' BEGIN SELECT RAISE(ABORT, 'refused'); END"))
        else:
            connection.execute(text("CREATE FUNCTION refuse_erased() RETURNS trigger AS $$ BEGIN "
                                    "IF NEW.kind = 'end_user.erased' THEN RAISE EXCEPTION 'refused'; END IF; "
                                    "RETURN NEW; END $$ LANGUAGE plpgsql"))
            connection.execute(text("CREATE TRIGGER refuse_erased BEFORE INSERT ON event "
                                    "FOR EACH ROW EXECUTE FUNCTION refuse_erased()"))


def test_an_erasure_that_fails_at_its_last_write_changes_nothing(db, clock):
    ids = desk(db, clock)
    refuse_the_audit_event(db)
    with db.session() as session, pytest.raises(DBAPIError, match="refused"):
        DataRequestService(session, clock).erase(ids["alice"], "cli")
    with db.read_session() as session:
        assert session.get(EndUser, ids["alice"]).email == "alice@example.net"
        assert len(session.exec(select(InboundEmail)).all()) == 3
        assert "My address is 1 Elm Street." in [m.body for m in session.exec(select(Message))]


def test_the_command_line_exports_to_a_private_file_and_erases_only_when_confirmed(tmp_path, clock):
    assert run_cli("init", data_dir=tmp_path).returncode == 0
    database = Database(f"sqlite:///{tmp_path / 'threadline.db'}")
    try:
        ids = desk(database, clock)
    finally:
        database.dispose()
    output = tmp_path / "alice.json"
    exported = run_cli("end-user", "export", "alice@example.net", "--output", str(output), data_dir=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert json.loads(output.read_text())["end_user"]["id"] == ids["alice"]
    assert oct(output.stat().st_mode & 0o777) == "0o600"

    refused = run_cli("end-user", "erase", str(ids["alice"]), data_dir=tmp_path)
    assert refused.returncode == 1 and "--yes" in refused.stderr
    erased = run_cli("end-user", "erase", str(ids["alice"]), "--yes", data_dir=tmp_path)
    assert erased.returncode == 0, erased.stderr
    assert "2 messages replaced by a marker, 2 inbound emails deleted" in erased.stdout
    again = run_cli("end-user", "export", str(ids["alice"]), data_dir=tmp_path)
    assert "alice@example.net" not in again.stdout and "Elm Street" not in again.stdout
    kinds = [event["kind"] for event in json.loads(again.stdout)["events"]]
    assert "end_user.exported" in kinds and "end_user.erased" in kinds


def test_erasure_deletes_files_typing_preview_and_rating_comments_but_keeps_shared_bytes(db, clock):
    from core.activity import ActivityService
    from core.attachments import AttachmentService
    from core.models import Activity, Attachment, AttachmentBlob, AuthorKind, ConversationStatus, Rating, RatingScore
    from core.ratings import RatingService
    from core.settings import SettingsService

    ids = desk(db, clock)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    with db.session() as session:
        SettingsService(session, clock).update(typing_preview=True)
        files = AttachmentService(session, clock)
        files.post_file(ids["first"], AuthorKind.end_user, files.check("passport.png", png))
        files.post_file(ids["bobs"], AuthorKind.end_user, files.check("same.png", png))  # same bytes, Bob's
        files.post_file(ids["second"], AuthorKind.end_user, files.check("notes.txt", b"my card is 4111"))
        ActivityService(session, clock).end_user_typing(ids["first"], "my new address is 2 Oak Road")
        ConversationService(session, clock).set_status(ids["first"], ConversationStatus.solved)
        RatingService(session, clock).rate(ids["first"], RatingScore.bad, "call me on 555-0199")
    with db.session() as session:
        summary = DataRequestService(session, clock).erase(ids["alice"], by="cli")
    assert summary.attachments_deleted == 2
    with db.read_session() as session:
        left = session.exec(select(Attachment)).all()
        assert [a.name for a in left] == ["same.png"]  # Bob's file stays, and with it the shared bytes
        assert len(session.exec(select(AttachmentBlob)).all()) == 1
        assert session.exec(select(Activity).where(Activity.conversation_id == ids["first"])).all() == []
        rating = session.get(Rating, ids["first"])
        assert rating is not None and rating.score == RatingScore.bad and rating.comment is None
        audit = session.exec(select(Event).where(Event.kind == EventKind.end_user_erased)).one()
        assert audit.payload["attachments_deleted"] == 2

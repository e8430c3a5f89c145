"""Files of an email that waited for an agent (held, refused) are stored when the agent posts it: read again from its
raw source through the same checks as on arrival, hash equal, linked to the posted message, and only once."""
from __future__ import annotations

import hashlib
import struct
import zlib
from email.message import EmailMessage

import pytest
from sqlmodel import col, select

from core.agents import AgentService
from core.errors import InvalidTransition
from core.inbound import InboundEmail, InboundOutcome, InboundService
from core.models import Attachment, AttachmentBlob, Message
from mail.routing import file_raw_email
from threadline.inbound_testbed import SUPPORT


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))


PNG = tiny_png()
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n" + b"%" * 600


def email_with_files(*, to: str, message_id: str, sender: str = "stranger@example.net") -> bytes:
    """An email from someone the desk does not know, with an inline screenshot and an attached PDF."""
    message = EmailMessage()
    message["From"] = f"Stranger <{sender}>"
    message["To"] = to
    message["Subject"] = "Screenshot of the error"
    message["Message-ID"] = message_id
    message.set_content("The page breaks, see the screenshot and the invoice.")
    message.add_alternative('<p>The page breaks, see <img src="cid:shot@example.net"> and the invoice.</p>',
                            subtype="html")
    message.get_payload()[1].add_related(PNG, maintype="image", subtype="png", cid="<shot@example.net>",
                                         filename="screenshot.png")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="invoice.pdf")
    return message.as_bytes()


def file(world, raw: bytes, uid: int) -> InboundEmail:
    with world.db.session() as session:
        return file_raw_email(session, world.clock, world.config, world.signer, raw, mailbox="INBOX",
                              uidvalidity=5, uid=uid)


def attachments_of(session, message_id: int) -> list[tuple[str, str, str, str | None]]:
    found = []
    for attachment in session.exec(select(Attachment).where(Attachment.message_id == message_id)
                                   .order_by(col(Attachment.id))):
        blob = session.get(AttachmentBlob, attachment.sha256)
        found.append((attachment.name, attachment.content_type, hashlib.sha256(blob.content).hexdigest(),
                      attachment.content_id))
    return found


def ana(world) -> int:
    with world.db.session() as session:
        return AgentService(session, world.clock).add("ana", "Ana").id


EXPECTED = [("screenshot.png", "image/png", hashlib.sha256(PNG).hexdigest(), "shot@example.net"),
            ("invoice.pdf", "application/pdf", hashlib.sha256(PDF).hexdigest(), None)]


def test_a_refused_email_from_a_stranger_gets_its_files_when_an_agent_posts_it(inbound_world):
    world = inbound_world
    record = file(world, email_with_files(to="help+1-forgedtoken@example.com", message_id="<r1@example.net>"), 1)
    assert record.outcome is InboundOutcome.refused, record.reason
    with world.db.session() as session:
        assert session.exec(select(Attachment)).all() == []  # waiting: only the list is kept
    agent = ana(world)
    with world.db.session() as session:
        service = InboundService(session, world.clock, max_attachment_bytes=world.config.attachments.max_bytes)
        posted = service.post_by_agent(record.id, agent, new_conversation=True)
        assert attachments_of(session, posted.posted_message_id) == EXPECTED
        message = session.get(Message, posted.posted_message_id)
        assert "screenshot.png (image/png" in message.body and "invoice.pdf (application/pdf" in message.body
        assert {a.conversation_id for a in session.exec(select(Attachment))} == {message.conversation_id}
        with pytest.raises(InvalidTransition):  # posting it twice is refused, and stores nothing more
            service.post_by_agent(record.id, agent, new_conversation=True)
    with world.db.session() as session:
        assert len(session.exec(select(Attachment)).all()) == 2
        assert len(session.exec(select(AttachmentBlob)).all()) == 2


def test_a_held_email_gets_its_files_when_an_agent_accepts_it(inbound_world):
    world = inbound_world
    world.config.mail.sender_window_max = 1  # the sender's second email is held
    file(world, email_with_files(to=SUPPORT, message_id="<first@example.net>"), 1)
    held = file(world, email_with_files(to=SUPPORT, message_id="<second@example.net>"), 2)
    assert held.outcome is InboundOutcome.held, held.reason
    agent = ana(world)
    with world.db.session() as session:
        before = len(session.exec(select(AttachmentBlob)).all())
        posted = InboundService(session, world.clock).post_by_agent(held.id, agent)
        assert attachments_of(session, posted.posted_message_id) == EXPECTED
        assert len(session.exec(select(AttachmentBlob)).all()) == before == 2  # the same bytes, stored once


def test_the_limits_of_arrival_apply_when_a_waiting_email_is_posted(inbound_world):
    world = inbound_world
    record = file(world, email_with_files(to="help+1-forgedtoken@example.com", message_id="<r2@example.net>"), 1)
    agent = ana(world)
    with world.db.session() as session:
        posted = InboundService(session, world.clock, max_attachment_bytes=len(PNG) + 10).post_by_agent(
            record.id, agent, new_conversation=True)
        assert [a[0] for a in attachments_of(session, posted.posted_message_id)] == ["screenshot.png"]
        lines = posted.attachments.splitlines()
        assert lines[1].startswith("invoice.pdf (") and "not stored" in lines[1]
        assert "invoice.pdf" in session.get(Message, posted.posted_message_id).body


def test_a_posted_email_whose_source_was_cleared_keeps_its_list(inbound_world):
    world = inbound_world
    record = file(world, email_with_files(to="help+1-forgedtoken@example.com", message_id="<r3@example.net>"), 1)
    with world.db.session() as session:
        stored = session.get(InboundEmail, record.id)
        stored.raw_source = None
        session.add(stored)
        session.commit()
    agent = ana(world)
    with world.db.session() as session:
        posted = InboundService(session, world.clock).post_by_agent(record.id, agent, new_conversation=True)
        assert attachments_of(session, posted.posted_message_id) == []
        assert "invoice.pdf" in session.get(Message, posted.posted_message_id).body

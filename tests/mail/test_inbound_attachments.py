"""Files in inbound email: stored byte for byte (hash equal) from several clients' formats, inline cid: images kept,
files over the limit or of a type not allowed listed with the reason; also through a real IMAP server."""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from pathlib import Path

import pytest
from sqlmodel import col, select

from core.inbound import InboundEmail, InboundOutcome
from core.models import Attachment, AttachmentBlob, Message
from mail.poller import ImapPoller
from mail.routing import file_raw_email
from tests.fixtures.imap import wait_for
from threadline.inbound_testbed import make_world

CORPUS = Path(__file__).resolve().parent.parent / "data" / "inbound"
WITH_FILES = sorted(p for p in CORPUS.glob("*.eml") if "attachments" in json.loads(p.with_suffix(".json").read_text()))
SENT = "<1-soabrfhz73tx67jnwfowcag3ua.c0ffee0123456789@example.com>"


def expected(path: Path) -> dict:
    return json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))


def stored_files(session, message_id: int) -> list[dict]:
    found = []
    for attachment in session.exec(select(Attachment).where(Attachment.message_id == message_id)
                                   .order_by(col(Attachment.id))):
        blob = session.get(AttachmentBlob, attachment.sha256)
        assert hashlib.sha256(blob.content).hexdigest() == attachment.sha256  # the bytes, not only the label
        entry = {"name": attachment.name, "type": attachment.content_type, "size": attachment.size,
                 "sha256": attachment.sha256}
        if attachment.content_id:
            entry["content_id"] = attachment.content_id
        found.append(entry)
    return found


def test_the_corpus_has_attachments_from_several_clients():
    assert {p.stem.split("_")[0] for p in WITH_FILES} >= {"gmail", "outlook", "apple", "thunderbird"}


@pytest.mark.parametrize("path", WITH_FILES, ids=[p.stem for p in WITH_FILES])
def test_files_of_a_posted_email_are_stored_intact_and_linked(path, db, clock):
    wanted = expected(path)
    world = make_world(db, clock, sent_message_id=SENT)
    with db.session() as session:
        record = file_raw_email(session, clock, world.config, world.signer, path.read_bytes(),
                                mailbox="INBOX", uidvalidity=7, uid=1)
        assert record.outcome is InboundOutcome.posted, record.reason
        assert stored_files(session, record.posted_message_id) == wanted["attachments"]
        message = session.get(Message, record.posted_message_id)
        assert message.body.startswith(wanted["text"])
        for entry in wanted["attachments"]:
            assert entry["name"] in message.body  # listed in the text, for readers of the plain transcript
        for name in wanted["not_stored"]:
            assert f"{name} (" in record.attachments and "not stored" in record.attachments


def test_files_over_the_limit_are_listed_with_the_reason_and_the_email_still_posted(db, clock):
    world = make_world(db, clock, sent_message_id=SENT)
    world.config.attachments.max_bytes = 400
    raw = (CORPUS / "outlook_inline_image.eml").read_bytes()
    with db.session() as session:
        record = file_raw_email(session, clock, world.config, world.signer, raw, mailbox="INBOX", uidvalidity=7, uid=1)
        assert record.outcome is InboundOutcome.posted
        stored = [a.name for a in session.exec(select(Attachment))]
        assert stored == ["image001.png"]  # the small inline image; the document is over the limit
        lines = record.attachments.splitlines()
        assert lines[0].startswith("image001.png (image/png,")
        assert lines[1].startswith("report.docx (") and "not stored" in lines[1] and "400" in lines[1]
        assert "report.docx" in session.get(Message, record.posted_message_id).body


@contextlib.asynccontextmanager
async def running(poller: ImapPoller):
    task = asyncio.create_task(poller.run())
    try:
        yield poller
    finally:
        await poller.stop()
        await asyncio.wait_for(task, 10)


async def test_attachments_arrive_intact_through_a_real_imap_server(imap_target, db, clock):
    world = make_world(db, clock, sent_message_id=SENT)
    poller = ImapPoller(db, imap_target.imap_config(world.config), clock, world.signer, backoff_base=0.05,
                        backoff_cap=0.2)

    def posted() -> list[InboundEmail]:
        with db.session() as session:
            return list(session.exec(select(InboundEmail).where(InboundEmail.outcome == InboundOutcome.posted)))

    async with running(poller):
        await wait_for(lambda: poller.using_idle is not None)
        for path in WITH_FILES:
            await imap_target.append(path.read_bytes())
        records = await wait_for(lambda: len(posted()) == len(WITH_FILES) and posted())
    by_message_id = {record.message_id: record for record in records}
    with db.session() as session:
        for path in WITH_FILES:
            message_id = next(line.split(":", 1)[1].strip() for line in path.read_text().splitlines()
                              if line.lower().startswith("message-id:"))
            record = by_message_id[message_id]
            assert stored_files(session, record.posted_message_id) == expected(path)["attachments"], path.stem

"""The corpus of real-looking raw emails in tests/data/inbound: each one's outcome and stripped text."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import select

from core.inbound import InboundOutcome
from core.models import Message, OutboxJob, OutboxStatus
from mail.routing import file_raw_email
from threadline.inbound_testbed import make_world

CORPUS = Path(__file__).resolve().parent.parent / "data" / "inbound"
EMAILS = sorted(CORPUS.glob("*.eml"))
SENT = "<1-soabrfhz73tx67jnwfowcag3ua.c0ffee0123456789@example.com>"  # what the corpus replies to


def test_the_corpus_is_large_enough():
    assert len(EMAILS) >= 70
    outcomes = {json.loads(p.with_suffix(".json").read_text())["outcome"] for p in EMAILS}
    assert outcomes == {o.value for o in InboundOutcome} - {"duplicate"}


def test_the_corpus_holds_customers_who_look_like_auto_replies():
    # Issue 12: subjects and first lines like an out-of-office notice, written by people, in every shipped language.
    customers = [p for p in EMAILS if p.stem.startswith("customer_")]
    assert len(customers) >= 20
    assert {p.stem.split("_")[1] for p in customers} >= {"en", "de", "fr", "es", "pt", "nl", "pl", "ja"}
    for path in customers:
        assert json.loads(path.with_suffix(".json").read_text())["outcome"] in ("posted", "new_conversation")


@pytest.mark.parametrize("path", EMAILS, ids=[p.stem for p in EMAILS])
def test_corpus_email(path: Path, db, clock):
    expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    world = make_world(db, clock, sent_message_id=SENT)
    assert world.conversation_id == 1  # the corpus carries the token of conversation 1
    with db.session() as session:
        record = file_raw_email(session, clock, world.config, world.signer, path.read_bytes(),
                                mailbox="INBOX", uidvalidity=7, uid=1)
        assert record.outcome.value == expected["outcome"], record.reason
        assert record.reason
        if "text" in expected:
            assert record.text == expected["text"]
        posted = list(session.exec(select(Message).where(Message.email_message_id == record.message_id)))
        if record.outcome in (InboundOutcome.posted, InboundOutcome.new_conversation):
            assert len(posted) == 1 and posted[0].body.startswith(expected["text"])
            assert posted[0].channel.value == "email"
            assert (posted[0].conversation_id == 1) == (record.outcome is InboundOutcome.posted)
            assert record.original_text
        else:
            assert posted == []
        assert record.raw_source == path.read_bytes()  # every email keeps its source, posted ones too
        if record.outcome is InboundOutcome.bounce:
            assert session.exec(select(OutboxJob)).one().status is OutboxStatus.bounced

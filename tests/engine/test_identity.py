"""The email identity model: who an address belongs to, where notifications go, caps per address, merges."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from core.end_users import EndUserService
from core.errors import CredentialRefused
from core.identity import PROOF_REPLY, IdentityClaim, IdentityService, identify_signature
from core.inbound import InboundOutcome, InboundService, IncomingEmail, Verdict
from core.models import Conversation, OutboxJob
from core.tokens import EndUserClaim

MINUTE = timedelta(minutes=1)
SECRET = b"widget-secret-for-tests"


def token_less_email(desk, sender: str, text: str, message_id: str) -> Conversation:
    record = InboundService(desk.session, desk.clock).file(
        IncomingEmail(message_id=message_id, sender=sender, raw=b"", text=text),
        Verdict(InboundOutcome.new_conversation))
    return desk.conversations.get(record.conversation_id)


def claim_for(desk, address: str) -> IdentityClaim:
    expires = int((desk.clock.now() + timedelta(minutes=10)).timestamp())
    return IdentityClaim("user-42", address, expires, identify_signature(SECRET, "user-42", address, expires))


def test_token_less_mail_never_joins_a_profile_that_only_typed_the_address(desk):
    stranger = desk.start("bob@example.net", verified=False, present=False)
    bobs = token_less_email(desk, "Bob@example.net", "My invoice is wrong", "<b1@example.net>")
    assert bobs.end_user_id != stranger.end_user_id
    assert desk.end_user(bobs).email == "Bob@example.net" and not desk.end_user(bobs).email_verified
    # The agent sees that another profile claims the address, and may merge them.
    claimants = IdentityService(desk.session, desk.clock).claimants(bobs.end_user_id)
    assert [u.id for u in claimants] == [stranger.end_user_id]


def test_token_less_mail_joins_the_profile_that_proved_the_address(desk):
    proven = desk.start("bob@example.net", verified=True, present=False)
    desk.start("bob@example.net", verified=False, present=False)  # a later stranger typing it changes nothing
    bobs = token_less_email(desk, "bob@example.net", "Another question", "<b2@example.net>")
    assert bobs.end_user_id == proven.end_user_id


def test_a_new_unproven_address_never_takes_a_proven_conversation_away(desk):
    conversation = desk.start("ann@example.com", verified=True, present=False)
    EndUserService(desk.session, desk.clock).set_email(conversation.end_user_id, "evil@example.org")
    desk.reply(conversation)
    desk.clock.advance(5 * MINUTE)
    [job] = desk.notifications.claim_due()
    assert job.to_address == "ann@example.com"
    # Once the new address is proven (here by a token reply from it), it takes over.
    IdentityService(desk.session, desk.clock).prove(conversation.end_user_id, "evil@example.org", PROOF_REPLY)
    assert desk.refreshed(conversation).notify_email == "evil@example.org"


def test_correcting_an_unproven_address_follows_the_correction(desk):
    conversation = desk.start("ann@exmaple.com", verified=False, present=False)
    EndUserService(desk.session, desk.clock).set_email(conversation.end_user_id, "ann@example.com")
    assert desk.refreshed(conversation).notify_email == "ann@example.com"


def test_the_unverified_cap_counts_per_address_across_end_users(desk):
    conversations = [desk.start("victim@example.net", verified=False, present=False) for _ in range(6)]
    conversations.append(desk.start("VICTIM@example.net", verified=False, present=False))  # case changes nothing
    for conversation in conversations:
        desk.reply(conversation)
    desk.clock.advance(5 * MINUTE)
    jobs = desk.notifications.claim_due()
    assert len(jobs) == 3 and len(desk.jobs()) == 3
    deferred = [desk.refreshed(c).notify_due_at for c in conversations if desk.refreshed(c).notified_seq == 0]
    assert len(deferred) == 4 and all(due == desk.clock.now() + timedelta(hours=24) for due in deferred)
    # A proven owner of the address is not held back by strangers' caps.
    owner = desk.start("victim@example.net", verified=True, present=False)
    desk.reply(owner)
    desk.clock.advance(5 * MINUTE)
    assert [j.conversation_id for j in desk.notifications.claim_due()] == [owner.id]


def test_identify_adopts_an_anonymous_session_then_refuses_replay_from_another(desk):
    identity = IdentityService(desk.session, desk.clock)
    anonymous = desk.start(None, present=False)
    claim = claim_for(desk, "ada@example.com")
    ada = identity.identify(anonymous.end_user_id, claim, SECRET)
    assert ada.id == anonymous.end_user_id and ada.email_verified and ada.external_id == "user-42"
    assert identity.identify(ada.id, claim, SECRET).id == ada.id  # the same session again: harmless
    thief = desk.start(None, present=False)
    with pytest.raises(CredentialRefused) as refused:
        identity.identify(thief.end_user_id, claim, SECRET)
    assert refused.value.code == "identify_used"
    desk.clock.advance(timedelta(minutes=11))
    with pytest.raises(CredentialRefused) as refused:
        identity.identify(thief.end_user_id, claim, SECRET)
    assert refused.value.code == "identity_expired"


def test_identify_from_a_second_device_merges_the_anonymous_chat_into_the_known_person(desk):
    identity = IdentityService(desk.session, desk.clock)
    first = desk.start(None, present=False)
    ada = identity.identify(first.end_user_id, claim_for(desk, "ada@example.com"), SECRET)
    desk.clock.advance(MINUTE)
    second = desk.start(None, present=False)
    merged = identity.identify(second.end_user_id, claim_for(desk, "ada@example.com"), SECRET)
    assert merged.id == ada.id and desk.refreshed(second).end_user_id == ada.id
    # The second device's token keeps working, now for Ada.
    old_token = EndUserClaim(second.end_user_id, desk.clock.now())
    assert identity.session_end_user(old_token).id == ada.id


def test_blocking_revokes_every_token_issued_before(desk):
    conversation = desk.start("spam@example.com", present=False)
    identity = IdentityService(desk.session, desk.clock)
    issued = EndUserClaim(conversation.end_user_id, desk.clock.now())
    people = EndUserService(desk.session, desk.clock)
    people.block(conversation.end_user_id)
    people.unblock(conversation.end_user_id)
    with pytest.raises(CredentialRefused):
        identity.session_end_user(issued)
    desk.clock.advance(timedelta(seconds=2))
    assert (
        identity.session_end_user(EndUserClaim(conversation.end_user_id, desk.clock.now())).id
        == conversation.end_user_id
    )


def test_tokens_age_out(desk):
    conversation = desk.start(None, present=False)
    identity = IdentityService(desk.session, desk.clock, session_max_age=timedelta(days=90))
    issued = EndUserClaim(conversation.end_user_id, desk.clock.now())
    desk.clock.advance(timedelta(days=91))
    with pytest.raises(CredentialRefused):
        identity.session_end_user(issued)


def test_an_agent_merge_moves_conversations_and_proofs(desk):
    typed = desk.start("bob@example.net", verified=False, present=False)
    emailed = token_less_email(desk, "bob@example.net", "Hello from my mailbox", "<b3@example.net>")
    EndUserService(desk.session, desk.clock).verify_email(emailed.end_user_id)  # the agent confirms the address
    target = IdentityService(desk.session, desk.clock).merge(typed.end_user_id, emailed.end_user_id, desk.agent.id)
    moved = desk.session.exec(select(Conversation).where(Conversation.end_user_id == target.id)).all()
    assert {c.id for c in moved} == {typed.id, emailed.id}
    assert IdentityService(desk.session, desk.clock).claimants(target.id) == []
    assert all(c.notify_email == "bob@example.net" for c in moved)


def test_jobs_go_to_the_conversations_address(desk):
    conversation = desk.start("ann@example.com", verified=True, present=False)
    desk.reply(conversation)
    desk.clock.advance(5 * MINUTE)
    [job] = desk.notifications.claim_due()
    stored = desk.session.get(OutboxJob, job.id)
    assert (stored.to_address, stored.address_key) == ("ann@example.com", "ann@example.com")


def test_blocking_a_visitor_who_typed_an_address_does_not_refuse_that_persons_email(desk):
    people = EndUserService(desk.session, desk.clock)
    typist = desk.start("bob@example.net", verified=False, present=False)
    people.block(typist.end_user_id)
    assert not people.blocks_mail_from("bob@example.net")
    spammer = token_less_email(desk, "spam@example.org", "Buy now", "<s1@example.org>")
    people.block(spammer.end_user_id)
    assert people.blocks_mail_from("SPAM@example.org")
    proven = desk.start("eve@example.com", verified=True, present=False)
    people.block(proven.end_user_id)
    assert people.blocks_mail_from("eve@example.com")

"""The opt-out rule of the claim: an address that stopped notifications gets no outbox job until it is lifted, and
lifting never emails the messages that came while it held."""
from datetime import timedelta

from sqlmodel import select

from core.models import Event
from core.opt_outs import OptOutService, OptOutSource, job_of_unsubscribe_token, unsubscribe_token
from core.tokens import InvalidToken, TokenSigner

MINUTE = timedelta(minutes=1)


def _due(desk, email="Ann@Example.com"):
    conversation = desk.start(email, present=False)
    desk.reply(conversation)
    desk.clock.advance(5 * MINUTE)
    return conversation


def test_an_opted_out_address_gets_no_job(desk):
    conversation = _due(desk)
    OptOutService(desk.session, desk.clock).stop("ann@example.com", OptOutSource.one_click)
    assert desk.notifications.claim_due() == []
    assert desk.jobs() == []
    refreshed = desk.refreshed(conversation)
    assert refreshed.notify_due_at is None and refreshed.notified_seq == refreshed.last_seq
    kinds = [e.kind for e in desk.session.exec(select(Event).order_by(Event.id))]
    assert "email.opted_out" in kinds and "notification.suppressed" in kinds


def test_stopping_twice_keeps_the_first_record(desk):
    service = OptOutService(desk.session, desk.clock)
    first = service.stop("ann@example.com", OptOutSource.one_click)
    desk.clock.advance(MINUTE)
    again = service.stop("ANN@example.com", OptOutSource.email)
    assert again.stopped_at == first.stopped_at and again.source == "one-click"


def test_lifting_lets_the_next_message_through_but_not_the_old_ones(desk):
    conversation = _due(desk)
    service = OptOutService(desk.session, desk.clock)
    service.stop("ann@example.com", OptOutSource.email)
    assert desk.notifications.claim_due() == []
    assert service.lift("ann@example.com", "inbound") is True
    assert service.lift("ann@example.com", "inbound") is False
    desk.clock.advance(MINUTE)
    seq = desk.reply(conversation, "New answer")
    desk.clock.advance(5 * MINUTE)
    [job] = desk.notifications.claim_due()
    assert job.first_seq == seq and job.last_seq == seq


def test_other_addresses_are_not_affected(desk):
    _due(desk, "bob@example.com")
    OptOutService(desk.session, desk.clock).stop("ann@example.com", OptOutSource.one_click)
    assert len(desk.notifications.claim_due()) == 1


def test_unsubscribe_tokens_are_their_own_kind():
    signer = TokenSigner("s" * 32)
    token = unsubscribe_token(signer, 42)
    assert job_of_unsubscribe_token(signer, token) == 42
    for wrong in (signer.reply_token(42), token[:-1] + "x", ""):
        try:
            job_of_unsubscribe_token(signer, wrong)
        except InvalidToken:
            continue
        raise AssertionError(f"{wrong!r} passed as an unsubscribe token")

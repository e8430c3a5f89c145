"""End users' email (internationalized addresses accepted), language, name and blocking."""
from datetime import timedelta

import pytest
from sqlmodel import select

from core.end_users import EndUserService
from core.errors import InvalidInput
from core.models import Event


@pytest.fixture
def people(desk):
    return EndUserService(desk.session, desk.clock)


@pytest.fixture
def ann(desk):
    return desk.conversations.create_end_user("Ann")


@pytest.mark.parametrize("given, stored", [
    ("Ann@Example.COM", "Ann@example.com"),
    ("josé@exämple.de", "josé@exämple.de"),
    ("user@xn--exmple-cua.de", "user@exämple.de"),
    ("  jürgen@beispiel.de ", "jürgen@beispiel.de"),
])
def test_addresses_are_stored_normalized_including_internationalized_ones(people, ann, given, stored):
    assert people.set_email(ann.id, given).email == stored


@pytest.mark.parametrize("bad", ["", "not an address", "a@b", "ann@@example.com", "ann@example..com"])
def test_an_invalid_address_is_refused_and_changes_nothing(desk, people, ann, bad):
    people.set_email(ann.id, "ann@example.com")
    people.verify_email(ann.id)
    events_before = len(desk.session.exec(select(Event)).all())
    with pytest.raises(InvalidInput):
        people.set_email(ann.id, bad)
    desk.session.refresh(ann)
    assert (ann.email, ann.email_verified) == ("ann@example.com", True)
    assert len(desk.session.exec(select(Event)).all()) == events_before


def test_a_new_address_is_unverified_and_clears_a_bounce(desk, people, ann):
    people.set_email(ann.id, "ann@example.com")
    people.verify_email(ann.id)
    ann.email_failing = True
    desk.session.add(ann)
    desk.session.commit()
    updated = people.set_email(ann.id, "ann2@example.com")
    assert (updated.email_verified, updated.email_failing) == (False, False)
    assert people.verify_email(ann.id).email_verified


def test_giving_an_address_schedules_waiting_replies(desk, people):
    conversation = desk.start(email=None, present=False)
    desk.reply(conversation)
    assert desk.refreshed(conversation).notify_due_at is None
    people.set_email(conversation.end_user_id, "ann@example.com")
    assert desk.refreshed(conversation).notify_due_at == desk.clock.now() + timedelta(minutes=5)


def test_an_agent_chosen_language_is_kept_against_the_widget(people, ann):
    people.set_language(ann.id, "de", by_agent=True)
    assert people.set_language(ann.id, "fr").language == "de"
    assert people.set_language(ann.id, "pt-BR", by_agent=True).language == "pt_BR"
    with pytest.raises(InvalidInput, match="language tag"):
        people.set_language(ann.id, "not a tag!")


def test_blocking_stops_notifications_and_marks_the_address(desk, people):
    conversation = desk.start("spam@example.com", present=False)
    desk.reply(conversation)
    assert not people.is_blocked_address("SPAM@example.com")
    people.block(conversation.end_user_id)
    assert people.is_blocked_address("spam@EXAMPLE.com") and not people.is_blocked_address("not valid")
    assert desk.refreshed(conversation).notify_due_at is None
    people.unblock(conversation.end_user_id)
    assert desk.refreshed(conversation).notify_due_at is not None


def test_every_change_writes_an_event(desk, people, ann):
    people.set_email(ann.id, "ann@example.com")
    people.verify_email(ann.id)
    people.set_language(ann.id, "de")
    people.set_name(ann.id, "Ann B.")
    people.block(ann.id)
    people.unblock(ann.id)
    kinds = [e.kind for e in desk.session.exec(select(Event).order_by(Event.id))][-7:]
    assert kinds == ["end_user.email_set", "end_user.email_verified", "end_user.language_set", "end_user.name_set",
                     "end_user.blocked", "end_user.sessions_revoked", "end_user.unblocked"]

"""Messaging triggers: the built-ins, conditions, actions, and texts per language."""
import pytest
from sqlmodel import select

from core.agents import AgentService
from core.errors import InvalidInput
from core.models import AuthorKind, Message
from core.triggers import OUT_OF_OFFICE, REQUEST_EMAIL, Situation, TriggerService, matches


@pytest.fixture
def triggers(desk):
    service = TriggerService(desk.session, desk.clock)
    service.ensure_builtins()
    return service


def system_messages(desk, conversation):
    query = select(Message).where(Message.conversation_id == conversation.id, Message.author_kind == AuthorKind.system)
    return list(desk.session.exec(query.order_by(Message.seq)))


def start(desk, email=None, language=None):
    end_user = desk.conversations.create_end_user("Ann", email, language)
    return desk.conversations.start_conversation(end_user.id)


def test_builtins_ship_inactive_and_are_created_once(desk, triggers):
    assert triggers.ensure_builtins() == []
    found = {t.key: t for t in triggers.all()}
    assert set(found) == {REQUEST_EMAIL, OUT_OF_OFFICE}
    assert not any(t.active for t in found.values())
    assert found[REQUEST_EMAIL].name == "Request email for continuous conversation"


def test_inactive_triggers_do_nothing(desk, triggers):
    assert system_messages(desk, start(desk)) == []


def test_request_email_asks_for_an_address_when_no_agent_is_online(desk, triggers):
    triggers.activate(triggers.by_key(REQUEST_EMAIL).id)
    [message] = system_messages(desk, start(desk))
    assert message.kind == "email_request" and "email" in message.body


def test_request_email_acknowledges_a_known_address(desk, triggers):
    triggers.activate(triggers.by_key(REQUEST_EMAIL).id)
    [message] = system_messages(desk, start(desk, "ann@example.com"))
    assert message.kind == "email_ack" and "ann@example.com" in message.body


def test_request_email_stays_quiet_while_agents_are_online_in_business_hours(desk, triggers):
    triggers.activate(triggers.by_key(REQUEST_EMAIL).id)
    AgentService(desk.session, desk.clock).set_status(desk.agent.id, "online")
    assert system_messages(desk, start(desk)) == []
    desk.settings.update(business_hours={"timezone": "UTC", "days": {}})  # now outside business hours
    assert len(system_messages(desk, start(desk))) == 1


def test_texts_are_editable_per_language_and_default_to_the_catalog(desk, triggers):
    trigger = triggers.by_key(REQUEST_EMAIL)
    triggers.activate(trigger.id)
    triggers.set_text(trigger.id, "de", "Ihre E-Mail-Adresse, bitte.")
    assert system_messages(desk, start(desk, language="de-CH"))[0].body == "Ihre E-Mail-Adresse, bitte."
    english = system_messages(desk, start(desk, language="en"))[0].body
    assert english != "Ihre E-Mail-Adresse, bitte." and "email" in english
    triggers.set_text(trigger.id, "de", "Wir schreiben an {email}.", text_key="acknowledge_email")
    assert system_messages(desk, start(desk, "b@example.com", "de"))[0].body == "Wir schreiben an b@example.com."


def test_set_text_refuses_bad_input_and_changes_nothing(desk, triggers):
    trigger = triggers.by_key(OUT_OF_OFFICE)
    with pytest.raises(InvalidInput, match="language tag"):
        triggers.set_text(trigger.id, "??", "x")
    with pytest.raises(InvalidInput, match="no text"):
        triggers.set_text(trigger.id, "de", "x", text_key="nope")
    with pytest.raises(InvalidInput, match="control character"):
        triggers.set_text(trigger.id, "de", "bad \x1b[31m")
    desk.session.refresh(trigger)
    assert trigger.texts == {}


def test_custom_trigger_with_status_tag_and_language_conditions(desk, triggers):
    custom = triggers.create("German after hours", {"event": "started", "language": ["de"], "channel": ["messaging"]},
                             [{"type": "add_tag", "tag": "german"}, {"type": "set_status", "status": "pending"},
                              {"type": "system_message", "text": "hello"}],
                             texts={"de": {"hello": "Hallo!"}}, active=True)
    german = start(desk, language="de")
    desk.session.refresh(german)
    assert german.tags == ["german"] and german.status.value == "pending"
    assert [m.body for m in system_messages(desk, german)] == ["Hallo!"]
    english = start(desk, language="en")
    assert english.tags == [] and system_messages(desk, english) == []
    assert custom.id is not None


def test_unknown_conditions_or_actions_are_refused(desk, triggers):
    with pytest.raises(InvalidInput, match="condition"):
        triggers.create("x", {"weather": "rain"}, [])
    with pytest.raises(InvalidInput, match="action"):
        triggers.create("x", {}, [{"type": "launch"}])


@pytest.mark.parametrize("conditions, expected", [
    ({"agents_online": False}, True),
    ({"agents_online": True}, False),
    ({"business_hours": "outside"}, False),
    ({"has_email": True}, True),
    ({"language": ["pt"]}, True),
    ({"language": "de"}, False),
    ({"channel": ["email"]}, False),
    ({"any_of": [{"agents_online": True}, {"has_email": True}]}, True),
    ({"any_of": [{"agents_online": True}, {"has_email": False}]}, False),
])
def test_condition_matching(conditions, expected):
    situation = Situation(event="started", channel="messaging", agents_online=0, inside_business_hours=True,
                          has_email=True, language="pt_BR")
    assert matches(conditions, situation) is expected


def test_request_email_leaves_conversations_started_by_email_alone(desk, triggers):
    triggers.activate(triggers.by_key(REQUEST_EMAIL).id)
    end_user = desk.conversations.create_end_user("Ann", "ann@example.com")
    conversation = desk.conversations.start_conversation(end_user.id, channel="email")
    assert system_messages(desk, conversation) == []

"""Canned replies: checked when saved, rendered in the conversation's language with their variables, sent with their
actions, imported all or nothing."""
import pytest

from core.agents import AgentService
from core.config import Config
from core.errors import InvalidInput
from core.macros import MacroDraft, MacroService, pick_text
from core.models import ConversationStatus
from core.tokens import TokenSigner

TEXTS = {"en": "Hi {{ end_user_name or 'there' }}, {{ agent_name }} here: {{ conversation_url }}",
         "de": "Hallo {{ end_user_name }}, hier ist {{ agent_name }}."}


@pytest.fixture
def macros(desk) -> MacroService:
    return MacroService(desk.session, desk.clock)


def config() -> Config:
    built = Config()
    built.general.secret = "macro-secret-0123456789abcdef"
    built.widget.public_url = "https://help.example.com/"
    return built


def conversation_of(desk, language, name="Ann"):
    end_user = desk.conversations.create_end_user(name, None, language)
    conversation = desk.conversations.start_conversation(end_user.id)
    desk.conversations.post_end_user_message(conversation.id, "Hello?")
    return conversation


def test_the_text_is_in_the_conversations_language_else_the_account_default(desk, macros):
    macro = macros.save(MacroDraft("Greeting", TEXTS))
    german = macros.render(macro.id, conversation_of(desk, "de-AT").id, desk.agent.id, config())
    assert (german.language, german.text) == ("de", "Hallo Ann, hier ist Bo.")
    french = macros.render(macro.id, conversation_of(desk, "fr", name=None).id, desk.agent.id, config())
    assert french.language == "en" and french.text.startswith("Hi there, Bo here: https://help.example.com/return/")
    desk.settings.update(default_language="de")
    assert macros.render(macro.id, conversation_of(desk, "fr").id, desk.agent.id, config()).language == "de"


def test_the_conversation_url_is_a_return_link_to_that_conversation(desk, macros):
    macro = macros.save(MacroDraft("Link", {"en": "{{ conversation_url }}"}))
    conversation = conversation_of(desk, "en")
    url = macros.render(macro.id, conversation.id, desk.agent.id, config()).text
    token = url.rsplit("/", 1)[1]
    assert TokenSigner(config().general.secret).verify_return_link_token(token, desk.clock.now())[0] == \
        conversation.id


def test_pick_text_falls_back_to_the_first_text():
    assert pick_text({"fr": "Salut"}, "de", "en") == ("fr", "Salut")
    assert pick_text({"pt_BR": "Oi", "pt": "Olá"}, "pt-BR") == ("pt_BR", "Oi")


@pytest.mark.parametrize("draft", [
    MacroDraft("", {"en": "x"}),
    MacroDraft("No text", {"en": "  "}),
    MacroDraft("Bad syntax", {"en": "{{ end_user_name "}),
    MacroDraft("Unknown variable", {"en": "{{ password }}"}),
    MacroDraft("Bad language", {"klingon!": "x"}),
    MacroDraft("Bad status", {"en": "x"}, set_status="closed"),
    MacroDraft("Bad tag", {"en": "x"}, add_tags=("two words",)),
])
def test_bad_macros_are_refused_with_the_reason(desk, macros, draft):
    with pytest.raises(InvalidInput) as refused:
        macros.save(draft)
    assert refused.value.message
    assert macros.all() == []


def test_names_are_unique_and_a_macro_can_be_edited_and_deleted(desk, macros):
    first = macros.save(MacroDraft("Refund", {"en": "We refunded you."}))
    with pytest.raises(InvalidInput):
        macros.save(MacroDraft("Refund", {"en": "Again"}))
    macros.save(MacroDraft("Refund issued", {"en": "Done.", "de": "Erledigt."}), first.id)
    [edited] = macros.all()
    assert (edited.id, edited.name, edited.texts) == (first.id, "Refund issued", {"en": "Done.", "de": "Erledigt."})
    macros.delete(first.id)
    assert macros.all() == []


def test_sending_applies_the_status_the_assignment_and_the_tags(desk, macros):
    kim = AgentService(desk.session, desk.clock).add("kim", "Kim")
    conversation = conversation_of(desk, "en")
    desk.conversations.assign(conversation.id, kim.id)
    macro = macros.save(MacroDraft("Wait for refund", {"en": "x"}, set_status="pending", assign_to_me=True,
                                   add_tags=("refund", "Billing")))
    message = macros.send(macro.id, conversation.id, desk.agent.id, "Your refund is on its way.")
    after = desk.refreshed(conversation)
    assert message.body == "Your refund is on its way." and message.author_agent_id == desk.agent.id
    assert (after.status, after.assignee_id, after.tags) == (ConversationStatus.pending, desk.agent.id,
                                                            ["refund", "billing"])


def test_a_status_the_conversation_cannot_take_does_not_lose_the_reply(desk, macros):
    conversation = conversation_of(desk, "en")
    desk.conversations.set_status(conversation.id, "solved")
    macro = macros.save(MacroDraft("Pending", {"en": "x"}, set_status="pending"))
    macros.send(macro.id, conversation.id, desk.agent.id, "One more thing.")
    after = desk.refreshed(conversation)
    assert after.status is ConversationStatus.solved and after.last_seq == 2


def test_import_is_all_or_nothing_and_replaces_by_name(desk, macros):
    macros.save(MacroDraft("Greeting", {"en": "Old"}))
    with pytest.raises(InvalidInput):
        macros.import_drafts([MacroDraft("New one", {"en": "Fine"}), MacroDraft("Broken", {"en": "{{ nope }}"})])
    assert [m.name for m in macros.all()] == ["Greeting"]
    assert macros.import_drafts([MacroDraft("New one", {"en": "Fine"}), MacroDraft("Greeting", {"en": "New"})]) \
        == (1, 1)
    assert {m.name: m.texts["en"] for m in macros.all()} == {"Greeting": "New", "New one": "Fine"}

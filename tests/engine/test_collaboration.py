"""Transfers between agents and tags, and the queue's tag filter (#tag in the search)."""
import pytest
from sqlmodel import select

from core.agents import AgentService
from core.collaboration import CollaborationService, clean_tag
from core.errors import InvalidInput, InvalidTransition
from core.events import EventLog
from core.listing import QueueListing
from core.models import ConversationNote, ConversationStatus


@pytest.fixture
def service(desk) -> CollaborationService:
    return CollaborationService(desk.session, desk.clock)


def test_a_transfer_assigns_names_who_sent_it_and_keeps_the_note(desk, service):
    kim = AgentService(desk.session, desk.clock).add("kim", "Kim")
    conversation = desk.start()
    cursor = EventLog(desk.session).latest_id()
    service.transfer(conversation.id, desk.agent.id, kim.id, "Needs a refund")
    after = desk.refreshed(conversation)
    assert after.assignee_id == kim.id and after.status is ConversationStatus.open
    kinds = [(e.kind, e.payload.get("by_agent_id")) for e in EventLog(desk.session).after(cursor)]
    assert kinds == [("note.added", None), ("conversation.assigned", desk.agent.id)]
    [note] = desk.session.exec(select(ConversationNote)).all()
    assert note.body == "Needs a refund" and note.author_agent_id == desk.agent.id


def test_a_transfer_to_oneself_or_the_assignee_is_refused(desk, service):
    kim = AgentService(desk.session, desk.clock).add("kim", "Kim")
    conversation = desk.start()
    with pytest.raises(InvalidInput):
        service.transfer(conversation.id, desk.agent.id, desk.agent.id)
    service.transfer(conversation.id, desk.agent.id, kim.id)
    with pytest.raises(InvalidTransition):
        service.transfer(conversation.id, desk.agent.id, kim.id, "again")
    assert desk.session.exec(select(ConversationNote)).all() == []  # the refused transfer left no note


def test_tags_are_cleaned_added_once_and_removed(desk, service):
    conversation = desk.start()
    service.change_tags(conversation.id, ["VIP", "#billing", "vip"], [])
    assert desk.refreshed(conversation).tags == ["vip", "billing"]
    service.change_tags(conversation.id, [], ["vip"])
    assert desk.refreshed(conversation).tags == ["billing"]
    with pytest.raises(InvalidInput):
        service.change_tags(conversation.id, ["new"], ["absent"])
    assert desk.refreshed(conversation).tags == ["billing"]  # all or nothing
    for bad in ("", "two words", 'quo"te', "ünï", "x" * 41):
        with pytest.raises(InvalidInput):
            clean_tag(bad)


def test_the_queue_search_filters_by_tag(desk, service):
    vip, plain, other = desk.start(), desk.start("bo@example.com"), desk.start("cy@example.com")
    service.change_tags(vip.id, ["vip", "billing"], [])
    service.change_tags(other.id, ["vip_not"], [])  # '_' is no wildcard, and a longer tag is another tag
    listing = QueueListing(desk.session, desk.clock)

    def ids(search: str) -> list[int]:
        return [row.conversation_id for row in listing.page(search=search).rows]

    assert ids("#vip") == [vip.id]
    assert ids("#VIP #billing") == [vip.id]
    assert ids("#vip Hello") == [vip.id]  # tags and text together
    assert ids("#vip_not") == [other.id]
    assert ids("#nothing") == []
    assert plain.id in ids("")


def test_a_hash_word_still_finds_the_text_written_with_it(desk, service):
    order = desk.start("ord@example.com")
    desk.conversations.post_end_user_message(order.id, "Where is order #4411?")
    listing = QueueListing(desk.session, desk.clock)
    assert [row.conversation_id for row in listing.page(search="#4411").rows] == [order.id]

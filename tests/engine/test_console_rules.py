"""Rules the console shows, computed in core: delivery state, unemailable replies, news, names, language, reopen."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from core.console_news import ConversationArrived, EndUserAnswered, read_news
from core.delivery import DeliveryState, message_deliveries
from core.events import EventLog
from core.labels import EndUserRef, conversation_language, end_user_label, language_label
from core.listing import QueueListing
from core.models import Channel, ConversationStatus, Message, Trigger
from core.outbox import OutboxService
from core.triggers import TriggerService


def _deliveries(desk, conversation):
    fresh = desk.refreshed(conversation)
    messages = list(desk.session.exec(select(Message).where(Message.conversation_id == fresh.id)))
    return message_deliveries(desk.session, fresh, messages)


def test_emailed_time_is_kept_when_the_end_user_later_sees_the_reply(desk):
    conversation = desk.start(present=False)
    seq = desk.reply(conversation)
    desk.clock.advance(timedelta(minutes=6))
    [job] = desk.notifications.claim_due()
    OutboxService(desk.session, desk.clock).mark_sent(job.id)
    emailed = _deliveries(desk, conversation)[seq]
    assert emailed.state is DeliveryState.emailed and emailed.emailed_at == desk.clock.now()
    desk.clock.advance(timedelta(minutes=1))
    desk.conversations.mark_read(conversation.id, "end_user", seq)
    seen = _deliveries(desk, conversation)[seq]
    assert seen.state is DeliveryState.seen
    assert seen.seen and seen.emailed_at == emailed.emailed_at


def test_a_reply_to_a_conversation_without_address_cannot_be_emailed_and_the_queue_says_so(desk):
    conversation = desk.start(email=None, present=False)
    seq = desk.reply(conversation)
    assert _deliveries(desk, conversation)[seq].state is DeliveryState.no_address
    [row] = QueueListing(desk.session, desk.clock).page("mine", agent_id=desk.agent.id).rows
    assert row.unemailable_replies
    desk.conversations.mark_read(conversation.id, "end_user", seq)
    [row] = QueueListing(desk.session, desk.clock).page("mine", agent_id=desk.agent.id).rows
    assert not row.unemailable_replies  # seen: nothing is left to email


def test_with_an_address_the_queue_does_not_mark_the_row(desk):
    conversation = desk.start(present=False)
    seq = desk.reply(conversation)
    assert _deliveries(desk, conversation)[seq].state is DeliveryState.not_seen
    [row] = QueueListing(desk.session, desk.clock).page("mine", agent_id=desk.agent.id).rows
    assert not row.unemailable_replies


def test_a_conversation_started_by_email_is_one_news_item_with_its_words_on_one_line(desk):
    cursor = EventLog(desk.session).latest_id()
    end_user = desk.conversations.create_end_user("Carol", "carol@example.com")
    conversation = desk.conversations.start_conversation(end_user.id, channel=Channel.email)
    desk.conversations.post_end_user_message(conversation.id, "Do you offer discounts for non-profits?\nCarol",
                                             channel=Channel.email)
    news = read_news(desk.session, cursor)
    [item] = [n for n in news.news if getattr(n, "conversation_id", None) == conversation.id]
    assert isinstance(item, ConversationArrived)
    assert item.first_words == "Do you offer discounts for non-profits? Carol"
    desk.conversations.post_end_user_message(conversation.id, "Any news?", channel=Channel.email)
    later = read_news(desk.session, news.cursor)
    assert [type(n) for n in later.news] == [EndUserAnswered]


def test_end_user_label_prefers_name_then_email_then_visitor_number():
    assert end_user_label(EndUserRef(7, "Carol", "c@example.com")) == "Carol"
    assert end_user_label(EndUserRef(7, None, "c@example.com")) == "c@example.com"
    assert end_user_label(EndUserRef(7, None, None)) == "Visitor #7"


def test_the_queue_shows_the_language_of_the_conversation_header(desk):
    end_user = desk.conversations.create_end_user("Ann", None, "fr")
    conversation = desk.conversations.start_conversation(end_user.id, language="en-US")
    desk.conversations.post_end_user_message(conversation.id, "Bonjour")
    [row] = QueueListing(desk.session, desk.clock).page("all").rows
    assert row.language == "fr"
    assert language_label(conversation_language(end_user.language, conversation.language)) == "fr"
    assert language_label("pt_BR") == "pt-BR"


def test_reopen_gives_the_assignee_back_or_the_queue(desk):
    conversation = desk.start(present=False)
    desk.reply(conversation)
    desk.conversations.set_status(conversation.id, "solved")
    assert desk.conversations.reopen(conversation.id).status is ConversationStatus.open
    desk.conversations.unassign(conversation.id)
    desk.conversations.set_status(conversation.id, "pending")
    assert desk.conversations.reopen(conversation.id).status is ConversationStatus.queued


def test_a_trigger_message_does_not_run_the_triggers_again(desk):
    """The dispatcher writes a trigger's message with the low-level writer; started triggers fire once."""
    triggers = TriggerService(desk.session, desk.clock)
    triggers.create("greet", {"event": "started"}, [{"type": "system_message", "text": "hello"}],
                    texts={"en": {"hello": "Welcome!"}}, active=True)
    triggers.create("tag", {"event": "started"}, [{"type": "add_tag", "tag": "new"}], active=True)
    end_user = desk.conversations.create_end_user("Ann", None, "en")
    conversation = desk.conversations.start_conversation(end_user.id)
    bodies = [m.body for m in desk.conversations.transcript(conversation.id)]
    assert bodies == ["Welcome!"]
    fired = [e for e in EventLog(desk.session).after(0) if e.kind == "trigger.fired"]
    assert len(fired) == len(list(desk.session.exec(select(Trigger)))) == 2
    assert desk.refreshed(conversation).tags == ["new"]

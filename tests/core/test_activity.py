"""ActivityService and RatingService on a real database: upserts without event rows, expiry, preview privacy,
ratings once per conversation, and the satisfaction figures reports use."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import func, select

from core.activity import ActivityService
from core.activity_rules import END_USER, TYPING_TTL, VIEWING_TTL, agent_participant
from core.agents import AgentService
from core.conversations import ConversationService
from core.errors import InvalidInput, InvalidTransition
from core.models import Activity, ConversationStatus, Event, RatingScore
from core.ratings import RatingService, rating_comment, rating_score, satisfaction_figures
from core.settings import SettingsService


@pytest.fixture
def conversation_id(session, clock):
    service = ConversationService(session, clock)
    user = service.create_end_user("Eve", None, "en")
    return service.start_conversation(user.id).id


@pytest.fixture
def dana(session, clock):
    return AgentService(session, clock).add("dana", "Dana")


def _count(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_reports_upsert_one_row_per_participant_and_write_no_events(session, clock, conversation_id, dana):
    activity = ActivityService(session, clock)
    events = _count(session, Event)
    for _ in range(5):
        activity.agent_active(conversation_id, dana.id, typing=True)
        activity.end_user_typing(conversation_id, "hello")
    assert _count(session, Activity) == 2
    assert _count(session, Event) == events
    live = {item.participant: item for item in activity.live(conversation_id)}
    assert live[agent_participant(dana.id)].agent_name == "Dana"
    assert live[agent_participant(dana.id)].typing
    assert live[END_USER].typing
    assert activity.agents_typing_now() == {conversation_id}  # the end user typing does not count


def test_typing_expires_but_viewing_stays_longer(session, clock, conversation_id, dana):
    activity = ActivityService(session, clock)
    activity.agent_active(conversation_id, dana.id, typing=True)
    clock.advance(TYPING_TTL)
    (item,) = activity.live(conversation_id)
    assert item.viewing and not item.typing
    assert activity.agents_typing_now() == set()
    clock.advance(VIEWING_TTL)
    assert activity.live(conversation_id) == []


def test_clearing_the_text_or_leaving_ends_it_at_once(session, clock, conversation_id, dana):
    activity = ActivityService(session, clock)
    activity.end_user_typing(conversation_id, "hello")
    activity.end_user_typing(conversation_id, "")
    assert activity.live(conversation_id) == []
    activity.agent_active(conversation_id, dana.id, typing=False)
    activity.left(conversation_id, agent_participant(dana.id))
    assert activity.live(conversation_id) == []


def test_the_preview_is_stored_only_when_the_account_allows_it(session, clock, conversation_id):
    activity = ActivityService(session, clock)
    activity.end_user_typing(conversation_id, "my password is")
    stored = session.exec(select(Activity)).one()
    assert stored.preview is None  # off by default: the text never reaches the database
    assert activity.live(conversation_id)[0].preview is None
    SettingsService(session, clock).update(typing_preview=True)
    activity.end_user_typing(conversation_id, "my order 1234")
    assert activity.live(conversation_id)[0].preview == "my order 1234"
    with pytest.raises(InvalidInput):
        SettingsService(session, clock).update(typing_preview="yes")


def test_stale_rows_are_deleted_by_later_writers(session, clock, conversation_id, dana):
    activity = ActivityService(session, clock)
    activity.end_user_typing(conversation_id, "hello")
    clock.advance(timedelta(hours=2))
    activity.agent_active(conversation_id, dana.id, typing=False)
    assert [row.participant for row in session.exec(select(Activity))] == [agent_participant(dana.id)]


def test_a_rating_needs_a_solved_conversation_and_is_one_per_conversation(session, clock, conversation_id):
    ratings = RatingService(session, clock)
    with pytest.raises(InvalidTransition):
        ratings.rate(conversation_id, RatingScore.good)
    ConversationService(session, clock).set_status(conversation_id, ConversationStatus.solved)
    ratings.rate(conversation_id, RatingScore.bad, "slow")
    events = _count(session, Event)
    ratings.rate(conversation_id, RatingScore.bad, "slow")  # the same again: idempotent, nothing logged
    assert _count(session, Event) == events
    clock.advance(60)
    rating = ratings.rate(conversation_id, RatingScore.good, None)  # changed
    assert (rating.score, rating.comment) == (RatingScore.good, None)
    assert rating.updated_at > rating.created_at
    assert _count(session, Event) == events + 1
    assert ratings.rating_of(conversation_id).score is RatingScore.good


def test_rating_input_is_checked():
    assert rating_score("good") is RatingScore.good
    for bad in ("meh", None, 1, "GOOD"):
        with pytest.raises(InvalidInput):
            rating_score(bad)
    assert rating_comment("  ") is None
    assert rating_comment(" thanks \r\n") == "thanks"
    with pytest.raises(InvalidInput):
        rating_comment("x" * 2001)
    with pytest.raises(InvalidInput):
        rating_comment("bell\x07")


def test_satisfaction_figures_count_each_conversation_once_as_rated_now(session, clock):
    service, ratings = ConversationService(session, clock), RatingService(session, clock)
    start = clock.now()
    scores = [(RatingScore.good, "great"), (RatingScore.good, None), (RatingScore.bad, None), (RatingScore.bad, "no")]
    ids = []
    for score, comment in scores:
        cid = service.start_conversation(service.create_end_user(None, None, "en").id).id
        service.set_status(cid, ConversationStatus.solved)
        ratings.rate(cid, score, comment)
        ids.append(cid)
    clock.advance(10)
    ratings.rate(ids[3], RatingScore.good, "no")  # changed its mind: counted once, as good
    figures = satisfaction_figures(session, start, clock.now() + timedelta(seconds=1))
    assert (figures.good, figures.bad, figures.with_comment, figures.rated) == (3, 1, 2, 4)
    assert figures.good_share == 0.75
    empty = satisfaction_figures(session, clock.now() + timedelta(days=1), clock.now() + timedelta(days=2))
    assert empty.rated == 0 and empty.good_share is None


def test_an_end_users_message_ends_their_typing_in_the_same_transaction(session, clock, conversation_id, dana):
    activity = ActivityService(session, clock)
    activity.end_user_typing(conversation_id, "where is my parcel")
    activity.agent_active(conversation_id, dana.id, typing=True)
    ConversationService(session, clock).post_end_user_message(conversation_id, "where is my parcel?")
    assert [row.participant for row in session.exec(select(Activity))] == [agent_participant(dana.id)]
    ConversationService(session, clock).post_agent_message(conversation_id, dana.id, "on its way")
    assert _count(session, Activity) == 1  # an agent's message leaves the agent's own report to the console

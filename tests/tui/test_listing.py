"""core.listing: filters, search, paging and ordering of the queue, on a real database."""
from __future__ import annotations

from datetime import timedelta

import pytest

from core.conversations import ConversationService
from core.errors import InvalidInput
from core.listing import QueueFilter, QueueListing


def _ids(desk, queue_filter, **kwargs):
    with desk.db.read_session() as session:
        page = QueueListing(session, desk.clock).page(queue_filter, agent_id=desk.agent_id, **kwargs)
    return [row.conversation_id for row in page.rows], page


def test_filters(desk):
    c = desk.conversations
    with desk.db.session() as session:
        service = ConversationService(session, desk.clock)
        service.assign(c["bea"], desk.agent_id)
        service.set_status(c["dana"], "pending")
    assert _ids(desk, "all")[0] == [c["alex"], c["bea"], c["chen"]]
    assert _ids(desk, QueueFilter.mine)[0] == [c["bea"]]
    assert _ids(desk, "unassigned")[0] == [c["alex"]]  # chen is Kim's since Kim answered
    assert _ids(desk, "pending")[0] == [c["dana"]]
    assert _ids(desk, "solved")[0] == [c["eli"]]


def test_rows_carry_what_the_queue_shows(desk):
    _ids_shown, page = _ids(desk, "all")
    bea = next(r for r in page.rows if r.conversation_id == desk.conversations["bea"])
    assert (bea.end_user_name, bea.language, bea.unread_for_agents, bea.status.value) == ("Bea Schmidt", "de", 2,
                                                                                          "queued")
    chen = next(r for r in page.rows if r.conversation_id == desk.conversations["chen"])
    assert chen.assignee_name == "Kim Agent" and chen.waiting_since is None and chen.unread_for_agents == 0


def test_search_by_end_user_and_text_takes_patterns_literally(desk):
    c = desk.conversations
    assert _ids(desk, "all", search="schmidt")[0] == [c["bea"]]
    assert _ids(desk, "all", search="alex@example")[0] == [c["alex"]]
    assert _ids(desk, "all", search="#4411")[0] == [c["alex"]]
    assert _ids(desk, "all", search="%")[0] == []
    assert _ids(desk, "all", search="_")[0] == []
    assert _ids(desk, "all", search="!")[0] == [] and _ids(desk, "all", search="\\")[0] == []
    assert _ids(desk, "all", search="[bold red]")[0] == [desk.conversations["dana"]]


def test_paging_never_repeats_or_skips(desk):
    with desk.db.session() as session:
        service = ConversationService(session, desk.clock)
        for number in range(25):
            end_user = service.create_end_user(f"User {number}")
            conversation = service.start_conversation(end_user.id)
            desk.clock.advance(timedelta(seconds=1))
            service.post_end_user_message(conversation.id, "hi")
    seen: list[int] = []
    offset = 0
    while True:
        ids, page = _ids(desk, "all", offset=offset, limit=7)
        seen.extend(ids)
        if not page.has_more:
            break
        offset += 7
    assert len(seen) == len(set(seen)) == 29
    assert seen == _ids(desk, "all", limit=100)[0]


def test_bad_requests_are_refused(desk):
    with desk.db.read_session() as session:
        listing = QueueListing(session, desk.clock)
        with pytest.raises(InvalidInput, match="Unknown queue filter"):
            listing.page("everything")
        with pytest.raises(InvalidInput):
            listing.page("all", limit=0)
        with pytest.raises(InvalidInput, match="mine"):
            listing.page("mine")
        assert listing.waiting_count() == 3

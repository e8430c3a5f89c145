"""Issue 18 in a real browser: "Agent is typing…" while an agent types in core, the end user's typing reaching the
database, and the satisfaction rating asked once the conversation is solved."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from core.activity import ActivityService
from core.activity_rules import END_USER, TYPING_TTL
from core.agents import AgentService
from core.conversations import ConversationService
from core.models import Activity, ConversationStatus, Rating, RatingScore
from tests.widget.conftest import conversation_row, eventually
from tests.widget.test_browser import _start, browser, site  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser):  # noqa: F811
    context = browser.new_context(locale="en-US")
    yield context.new_page()
    context.close()


def _agent_id(site) -> int:  # noqa: F811
    with site.db.session() as session:
        agents = AgentService(session, site.clock)
        existing = [a for a in agents.list() if a.handle == "dana"]
        return (existing[0] if existing else agents.add("dana", "Dana")).id


def test_the_widget_shows_an_agent_typing_until_the_report_expires(page, site):  # noqa: F811
    public_id = _start(page, site)
    conversation_id = conversation_row(site.db, public_id).id
    agent_id = _agent_id(site)
    typing = page.locator(".tl-typing")
    expect(typing).to_be_hidden()
    with site.db.session() as session:  # what the console does while Dana types a reply
        ActivityService(session, site.clock).agent_active(conversation_id, agent_id, typing=True)
    expect(typing).to_be_visible()
    expect(typing).to_have_text("Agent is typing…")
    # Screen readers hear it through the widget's one live region (a second region would talk over it).
    expect(page.locator("[aria-live=polite]")).to_contain_text("Agent is typing…")
    site.clock.advance(TYPING_TTL)  # no refresh: the report expires and the widget is told
    expect(typing).to_be_hidden()


def test_an_agent_reply_ends_the_typing_line(page, site):  # noqa: F811
    public_id = _start(page, site)
    conversation_id = conversation_row(site.db, public_id).id
    agent_id = _agent_id(site)
    with site.db.session() as session:
        ActivityService(session, site.clock).agent_active(conversation_id, agent_id, typing=True)
    expect(page.locator(".tl-typing")).to_be_visible()
    with site.db.session() as session:
        ConversationService(session, site.clock).post_agent_message(conversation_id, agent_id, "Here you go")
    expect(page.locator(".tl-agent .tl-body")).to_have_text("Here you go")
    expect(page.locator(".tl-typing")).to_be_hidden()


def test_the_end_users_typing_reaches_the_database_without_its_text(page, site):  # noqa: F811
    public_id = _start(page, site)
    conversation_id = conversation_row(site.db, public_id).id

    def end_user_row() -> Activity | None:
        with site.db.read_session() as session:
            return session.exec(select(Activity).where(Activity.conversation_id == conversation_id,
                                                       Activity.participant == END_USER)).first()

    page.locator(".tl-input").press_sequentially("my order number")
    row = eventually(end_user_row)
    assert row.typing_until is not None
    assert row.preview is None  # typing_preview is off by default: the text never left for the database
    with site.db.read_session() as session:
        (live,) = [item for item in ActivityService(session, site.clock).live(conversation_id)
                   if item.participant == END_USER]
    assert live.typing
    page.locator(".tl-input").press("Enter")  # sent: "is typing" ends at once
    eventually(lambda: end_user_row() is None)


def test_a_solved_conversation_asks_how_we_did_and_the_answer_can_change(page, site):  # noqa: F811
    public_id = _start(page, site)
    conversation_id = conversation_row(site.db, public_id).id
    rating = page.locator(".tl-rating")
    expect(rating).to_be_hidden()
    with site.db.session() as session:
        ConversationService(session, site.clock).set_status(conversation_id, ConversationStatus.solved)
    expect(rating.locator(".tl-rating-question")).to_have_text("How did we do?")
    rating.locator(".tl-rating-comment").fill("Quick and friendly")
    rating.locator(".tl-rating-good").click()
    expect(rating.locator(".tl-rating-note")).to_have_text(
        "Thank you for your rating. You can change it at any time.")
    expect(rating.locator(".tl-rating-good")).to_have_attribute("aria-pressed", "true")

    def stored() -> Rating | None:
        with site.db.read_session() as session:
            return session.get(Rating, conversation_id)

    assert (stored().score, stored().comment) == (RatingScore.good, "Quick and friendly")
    rating.locator(".tl-rating-bad").click()
    eventually(lambda: stored().score is RatingScore.bad)
    expect(rating.locator(".tl-rating-bad")).to_have_attribute("aria-pressed", "true")
    # Reloaded, the widget shows the rating given; reopening the conversation takes the question away.
    page.reload()
    page.locator(".tl-launcher").click()
    expect(rating.locator(".tl-rating-bad")).to_have_attribute("aria-pressed", "true")
    expect(rating.locator(".tl-rating-comment")).to_have_value("Quick and friendly")
    with site.db.session() as session:
        ConversationService(session, site.clock).reopen(conversation_id)
    expect(rating).to_be_hidden()

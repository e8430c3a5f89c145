"""Issue 14 in a real browser: the email offer while agents are online, right-to-left layout, relabelling after
setLocale, the open panel beside the page's own controls, and the queue stub for calls made before the script loads."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from core.agents import AgentService
from core.conversations import ConversationService
from core.models import EndUser
from tests.widget.conftest import agent_reply, conversation_row, eventually, identity
from tests.widget.test_browser import HIDE, SHOW, _start, browser, site  # noqa: F401  (fixtures)
from widget.strings import widget_strings

pytestmark = pytest.mark.browser


@pytest.fixture
def context_for(browser):  # noqa: F811
    """A fresh browser context (its own storage) in a language and window size; closed after the test."""
    contexts = []

    def make(locale: str = "en-US", width: int = 1280, height: int = 800):
        context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(context_for):
    return context_for().new_page()


@pytest.fixture
def agent_online(site):  # noqa: F811
    """The agent the replies come from, online (the team is online, so the built-in trigger does not ask)."""
    with site.db.session() as session:
        agents = AgentService(session, site.clock)
        existing = [a for a in agents.list() if a.handle == "ana"]
        agent = existing[0] if existing else agents.add("ana", "Ana Agent")
        agents.set_status(agent.id, "online")
    yield agent
    with site.db.session() as session:
        AgentService(session, site.clock).set_status(agent.id, "offline")


def _end_user(site, public_id: str) -> EndUser:  # noqa: F811
    with site.db.read_session() as session:
        return session.get(EndUser, conversation_row(site.db, public_id).end_user_id)


def _give_email_in_offer(page, address: str) -> None:
    offer = page.locator(".tl-offer")
    offer.locator("input").fill(address)
    offer.locator(".tl-email-submit").click()
    expect(offer.locator(".tl-email-saved")).to_contain_text(address)


# --- 1. "Get the reply by email" while an agent is online ---------------------------------------------------
def test_hiding_the_tab_with_a_conversation_brings_the_email_offer_and_saves_the_address(page, site, agent_online):  # noqa: F811
    public_id = _start(page, site)
    expect(page.locator(".tl-status")).to_have_class("tl-status tl-online")
    offer = page.locator(".tl-offer")
    expect(offer).to_be_hidden()  # a short wait, nothing unread, nobody leaving: no offer
    agent_reply(site.db, site.clock, public_id, "Let me check.")
    expect(page.locator(".tl-agent .tl-body")).to_have_text("Let me check.")
    expect(offer).to_be_hidden()  # read on screen at once
    page.evaluate(HIDE)
    agent_reply(site.db, site.clock, public_id, "Found it: it ships today.")
    expect(page.locator(".tl-agent .tl-body").last).to_have_text("Found it: it ships today.")
    expect(offer).to_be_visible()
    expect(offer).to_have_attribute("data-reason", "leaving")  # hiding the tab already offered it
    page.evaluate(SHOW)
    _give_email_in_offer(page, "alice@example.net")
    end_user = _end_user(site, public_id)
    assert end_user.email == "alice@example.net" and not end_user.email_verified


def test_an_agent_reply_that_arrives_unseen_brings_the_offer_even_without_leaving(page, site, agent_online):  # noqa: F811
    public_id = _start(page, site)
    # The tab goes to the background without a visibilitychange event (a browser throttling it, say).
    page.evaluate(
        """() => Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'})"""
    )
    agent_reply(site.db, site.clock, public_id, "Are you there?")
    expect(page.locator(".tl-agent .tl-body")).to_have_text("Are you there?")
    expect(page.locator(".tl-offer")).to_have_attribute("data-reason", "unread")
    expect(page.locator(".tl-offer")).to_be_visible()


def test_closing_the_widget_offers_the_email_first_and_closes_the_second_time(page, site, agent_online):  # noqa: F811
    public_id = _start(page, site)
    page.locator(".tl-close").click()
    expect(page.locator(".tl-panel")).to_be_visible()
    expect(page.locator(".tl-offer")).to_have_attribute("data-reason", "leaving")
    _give_email_in_offer(page, "bob@example.net")
    assert _end_user(site, public_id).email == "bob@example.net"
    page.locator(".tl-close").click()
    expect(page.locator(".tl-panel")).to_be_hidden()
    # With an address known there is nothing to offer: the next close closes at once.
    page.locator(".tl-launcher").click()
    page.locator(".tl-close").click()
    expect(page.locator(".tl-panel")).to_be_hidden()
    expect(page.locator(".tl-offer")).to_be_hidden()


def test_not_now_closes_the_offer_and_the_widget_closes_without_asking_again(page, site, agent_online):  # noqa: F811
    _start(page, site)
    page.locator(".tl-close").click()
    page.locator(".tl-offer-dismiss").click()
    expect(page.locator(".tl-offer")).to_be_hidden()
    page.locator(".tl-close").click()
    expect(page.locator(".tl-panel")).to_be_hidden()


def test_a_long_expected_wait_brings_the_offer_after_the_first_message(page, site, agent_online):  # noqa: F811
    # Recent history: most first answers took 10 minutes, so the median (the estimate for a newcomer) is long.
    earlier = []
    with site.db.session() as session:
        conversations = ConversationService(session, site.clock)
        for n in range(8):
            end_user = conversations.create_end_user(f"Earlier {n}", None)
            conversation = conversations.start_conversation(end_user.id)
            conversations.post_end_user_message(conversation.id, "Anyone?")
            earlier.append(conversation.public_id)
    site.clock.advance(timedelta(minutes=10))
    for public_id in earlier:
        agent_reply(site.db, site.clock, public_id, "Sorry for the wait.")
    try:
        public_id = _start(page, site)
        expect(page.locator(".tl-status")).to_contain_text("minutes")  # the estimate the offer follows
        expect(page.locator(".tl-offer")).to_have_attribute("data-reason", "wait")
        expect(page.locator(".tl-offer")).to_be_visible()
        _give_email_in_offer(page, "alice@example.net")
        assert _end_user(site, public_id).email == "alice@example.net"
    finally:
        site.clock.advance(timedelta(days=8))  # the slow answer leaves the estimate's window for later tests


# --- 3. right to left --------------------------------------------------------------------------------------
def _box(page, selector: str) -> dict:
    box = page.locator(selector).last.bounding_box()
    assert box is not None, selector
    return box


def test_arabic_mirrors_the_widget_and_setlocale_switches_back(context_for, site):  # noqa: F811
    page = context_for("ar").new_page()
    public_id = _start(page, site, "مرحبا")
    host = page.locator("#threadline-widget")
    expect(host).to_have_attribute("dir", "rtl")
    agent_reply(site.db, site.clock, public_id, "أهلا")
    expect(page.locator(".tl-agent .tl-body")).to_have_text("أهلا")
    own, agent = _box(page, ".tl-end_user .tl-body"), _box(page, ".tl-agent .tl-body")
    panel, close, title = _box(page, ".tl-panel"), _box(page, ".tl-close"), _box(page, ".tl-title")
    assert own["x"] + own["width"] < agent["x"]  # own messages at the inline end: the left
    assert close["x"] < title["x"]  # the close button leads the header on the left
    assert panel["x"] < 1280 / 2  # the whole panel sits at the left edge
    page.evaluate("Threadline.setLocale('en')")
    expect(host).to_have_attribute("dir", "ltr")
    expect(page.locator(".tl-end_user .tl-author")).to_have_text("You")
    own, agent = _box(page, ".tl-end_user .tl-body"), _box(page, ".tl-agent .tl-body")
    close, title, panel = _box(page, ".tl-close"), _box(page, ".tl-title"), _box(page, ".tl-panel")
    assert agent["x"] + agent["width"] < own["x"] and title["x"] < close["x"] and panel["x"] > 1280 / 2


# --- 4. relabelling after setLocale -------------------------------------------------------------------------
def test_setlocale_relabels_messages_already_shown(context_for, site):  # noqa: F811
    page = context_for("de-DE").new_page()
    public_id = _start(page, site)
    with site.db.session() as session:
        conversation = conversation_row(site.db, public_id)
        ConversationService(session, site.clock).post_end_user_message(conversation.id, "Per Mail", channel="email")
    german, english = widget_strings("de")["strings"], widget_strings("en")["strings"]
    assert german["you"] != english["you"]  # the test would not see a change otherwise
    labels = page.locator(".tl-end_user .tl-author")
    expect(labels.last).to_have_text(f"{german['you']} · {german['via_email']}")
    expect(labels.first).to_have_text(german["you"])
    page.evaluate("Threadline.setLocale('en')")
    expect(labels.first).to_have_text("You")
    expect(labels.last).to_have_text("You · via email")


def test_the_return_page_labels_the_end_users_own_message(context_for, site):  # noqa: F811
    page = context_for("en-US").new_page()
    with site.db.session() as session:
        conversations = ConversationService(session, site.clock)
        end_user = conversations.create_end_user("Ada", "ada@example.com")
        conversation = conversations.start_conversation(end_user.id)
        conversations.post_end_user_message(conversation.id, "My parcel is late")
    agent_reply(site.db, site.clock, conversation.public_id, "It arrives tomorrow.")
    # The widget's strings arrive after the conversation (a slow network): labels must be filled in then.
    held = []
    page.route("**/widget/strings*", lambda route: held.append(route))
    page.goto(f"{site.url}/return/{site.app.state.desk.return_link_token(conversation.id)}")
    expect(page.locator(".tl-agent .tl-body")).to_have_text("It arrives tomorrow.")
    assert held, "the strings request was not held"
    for route in held:
        route.continue_()
    expect(page.locator(".tl-end_user .tl-author")).to_have_text("You")
    expect(page.locator(".tl-agent .tl-author")).to_have_text("Ana Agent")


# --- 5. the open panel beside the page's own controls ---------------------------------------------------------
def _overlaps(a: dict, b: dict) -> bool:
    return a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"] and \
        a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)])
def test_the_open_panel_covers_none_of_the_demo_pages_controls(context_for, site, size):  # noqa: F811
    page = context_for("en-US", *size).new_page()
    page.goto(site.url + "/")
    page.locator("#demo-open").click()
    expect(page.locator(".tl-panel")).to_be_visible()
    panel = _box(page, ".tl-panel")
    controls = page.locator("main button, main h1")
    assert controls.count() == 5
    for index in range(controls.count()):
        box = controls.nth(index).bounding_box()
        assert box is not None and not _overlaps(panel, box), (size, controls.nth(index).text_content(), box, panel)
    # Every button can be clicked with the widget open (nothing lies over it).
    page.locator("#demo-de").click()
    expect(page.locator("#threadline-widget")).to_have_attribute("lang", "de")
    page.locator("#demo-close").click()
    expect(page.locator(".tl-panel")).to_be_hidden()


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)])
def test_the_open_panel_covers_none_of_the_return_pages_text(context_for, site, size):  # noqa: F811
    page = context_for("en-US", *size).new_page()
    with site.db.session() as session:
        conversations = ConversationService(session, site.clock)
        end_user = conversations.create_end_user("Ada", "ada@example.com")
        conversation = conversations.start_conversation(end_user.id)
        conversations.post_end_user_message(conversation.id, "Hello")
    page.goto(f"{site.url}/return/{site.app.state.desk.return_link_token(conversation.id)}")
    expect(page.locator(".tl-panel")).to_be_visible()
    expect(page.locator(".tl-end_user .tl-body")).to_have_text("Hello")
    panel = _box(page, ".tl-panel")
    for selector in ("main h1", "main p"):
        box = _box(page, selector)
        assert not _overlaps(panel, box), (size, selector, box, panel)


# --- 6. the queue stub --------------------------------------------------------------------------------------
def test_calls_queued_before_the_script_loads_are_replayed_and_both_apis_work(context_for, site):  # noqa: F811
    context = context_for("en-US")
    signed = identity(site.config, site.clock, "queued@example.com", user_id="queued-1", name="Quinn")
    context.add_init_script(f"window.QUEUED_IDENTITY = {json.dumps(signed)};")
    page = context.new_page()
    page.goto(f"{site.shop.origin}/shop?stub=1")
    # Threadline('open') and Threadline('setLocale', 'de') were queued before the script existed.
    expect(page.locator(".tl-panel")).to_be_visible()
    expect(page.locator("#threadline-widget")).to_have_attribute("lang", "de")
    expect(page.locator(".tl-send")).to_have_text(widget_strings("de")["strings"]["send"])
    page.locator(".tl-input").fill("Hallo")
    page.locator(".tl-input").press("Enter")
    expect(page.locator(".tl-end_user .tl-body")).to_have_text("Hallo")
    public_id = page.evaluate(f"JSON.parse(localStorage.getItem('threadline:{site.url}')).conversation")
    end_user = _end_user(site, public_id)
    # The queued identify() went with the conversation's start.
    assert (end_user.email, end_user.email_verified, end_user.name) == ("queued@example.com", True, "Quinn")
    eventually(lambda: _end_user(site, public_id).language == "de")
    # After loading, the function form and the object form both work.
    page.evaluate("Threadline('close')")
    expect(page.locator(".tl-panel")).to_be_hidden()
    page.evaluate("Threadline.open()")
    expect(page.locator(".tl-panel")).to_be_visible()
    assert page.evaluate("typeof Threadline.q") == "undefined" or page.evaluate("Threadline.version") == "1"

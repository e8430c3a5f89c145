"""Issue 21 in a real browser: WCAG 2.2 AA checked by axe-core in every widget state, a keyboard-only walk, phone
viewports with the on-screen keyboard up, the unread badge, right to left, and English when /widget/strings fails.

axe-core is vendored (tests/widget/vendor/README.md: version and checksum) and injected with playwright, so no test
downloads anything. Screenshots of each state go to the test's temporary folder, and to docs/images/widget-a11y/
when THREADLINE_WIDGET_SCREENSHOTS=1 is set (how the README's pictures are refreshed)."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.models import EndUser
from core.triggers import REQUEST_EMAIL, TriggerService
from tests.widget.conftest import agent_reply, conversation_row, eventually
from tests.widget.test_browser import HIDE, SHOW, _start, browser, site  # noqa: F401  (fixtures)
from widget.strings import WIDGET_STRINGS, widget_strings

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
SCRIPT = ROOT / "widget" / "static" / "threadline.js"
DOCS_IMAGES = ROOT / "docs" / "images" / "widget-a11y"
# What "WCAG 2.2 AA" means to axe: the rules tagged for each level up to AA, plus its best practices (where
# aria-allowed-role and scrollable-region-focusable live).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
# The element with focus, looking into the widget's shadow root.
FOCUSED = """() => {
  const host = document.getElementById('threadline-widget');
  const inner = host && host.shadowRoot ? host.shadowRoot.activeElement : null;
  if (document.activeElement !== host || !inner) return document.activeElement.tagName.toLowerCase();
  return inner.className || inner.tagName.toLowerCase();
}"""


@pytest.fixture
def context_for(browser):  # noqa: F811
    """A fresh browser context (its own storage) with axe-core injected into every page; closed after the test."""
    contexts = []

    def make(locale: str = "en-US", width: int = 1280, height: int = 800, **options):
        context = browser.new_context(locale=locale, viewport={"width": width, "height": height}, **options)
        context.add_init_script(path=str(AXE))
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def shots(tmp_path):
    """screenshot(page, name): keeps a picture of the state (and in docs/ when asked to refresh them)."""
    refresh = os.environ.get("THREADLINE_WIDGET_SCREENSHOTS") == "1"

    def take(page, name: str) -> None:
        page.screenshot(path=str(tmp_path / f"{name}.png"))
        if refresh:
            DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(DOCS_IMAGES / f"{name}.png"))

    return take


@pytest.fixture
def email_trigger(site):  # noqa: F811
    """The built-in trigger that asks for an email address in the conversation (nobody is online)."""
    with site.db.session() as session:
        triggers = TriggerService(session, site.clock)
        triggers.ensure_builtins()
        trigger = triggers.by_key(REQUEST_EMAIL)
        triggers.activate(trigger.id)
    yield
    with site.db.session() as session:
        TriggerService(session, site.clock).deactivate(trigger.id)


def axe(page, state: str) -> list[dict]:
    """axe-core over the widget (its shadow root included); the serious and critical violations, described."""
    results = page.evaluate(
        """(tags) => axe.run({include: [['#threadline-widget']]}, {runOnly: {type: 'tag', values: tags},
                                                                    resultTypes: ['violations']})""",
        AXE_TAGS,
    )
    return [
        {"state": state, "rule": found["id"], "impact": found["impact"],
         "nodes": [node["target"] for node in found["nodes"]][:5]}
        for found in results["violations"] if found["impact"] in ("serious", "critical")
    ]


def _conversation_id(page, site) -> str:  # noqa: F811
    return page.evaluate(f"JSON.parse(localStorage.getItem('threadline:{site.url}')).conversation")


def _inside(page, box: dict) -> bool:
    viewport = page.evaluate("({width: innerWidth, height: innerHeight})")
    return box["x"] >= -0.5 and box["y"] >= -0.5 and box["x"] + box["width"] <= viewport["width"] + 0.5 and \
        box["y"] + box["height"] <= viewport["height"] + 0.5


def _box(page, selector: str) -> dict:
    box = page.locator(selector).last.bounding_box()
    assert box is not None, selector
    return box


def _visible_in_log(page, selector: str) -> bool:
    """The element is scrolled into the message list's visible part and inside the window."""
    item, log = _box(page, selector), _box(page, ".tl-log")
    return _inside(page, item) and item["y"] >= log["y"] - 0.5 and \
        item["y"] + item["height"] <= log["y"] + log["height"] + 0.5


# --- axe-core in every state -----------------------------------------------------------------------------------
def test_axe_finds_nothing_serious_in_any_state(context_for, site, shots, email_trigger):  # noqa: F811
    found = []
    page = context_for("en-US").new_page()
    page.goto(site.shop.origin + "/shop?locale=en")
    expect(page.locator(".tl-launcher")).to_have_text("Chat with us")
    found += axe(page, "closed")
    shots(page, "closed")

    page.locator(".tl-launcher").click()
    expect(page.locator(".tl-status")).not_to_have_text("")
    found += axe(page, "open")
    shots(page, "open")

    page.locator(".tl-input").fill("Hello, my parcel is late")
    page.locator(".tl-input").press("Enter")
    form = page.locator(".tl-email-form")
    expect(form).to_be_visible()  # nobody is online: the built-in trigger asks for an address
    found += axe(page, "email form")
    form.locator("input").fill("not an address")
    form.locator("button").click()
    expect(form.locator(".tl-email-error")).not_to_have_text("")
    found += axe(page, "email form with an error")
    shots(page, "email-error")
    form.locator("input").fill("ada@example.com")
    form.locator("button").click()
    expect(page.locator(".tl-email-saved")).to_be_visible()

    public_id = _conversation_id(page, site)
    agent_reply(site.db, site.clock, public_id, "It ships today.")
    expect(page.locator(".tl-agent .tl-body")).to_have_text("It ships today.")
    found += axe(page, "after an exchange")
    shots(page, "exchange")

    page.evaluate(HIDE)
    agent_reply(site.db, site.clock, public_id, "Anything else?")
    expect(page.locator(".tl-agent .tl-body").last).to_have_text("Anything else?")
    page.evaluate("Threadline.close()")
    expect(page.locator(".tl-badge")).to_have_text("1")
    found += axe(page, "closed with an unread reply")
    page.evaluate(SHOW)
    assert found == [], json.dumps(found, indent=1)


def test_axe_finds_nothing_serious_in_arabic(context_for, site, shots):  # noqa: F811
    page = context_for("ar").new_page()
    public_id = _start(page, site, "مرحبا، طلبي متأخر")
    agent_reply(site.db, site.clock, public_id, "سيصل غدا")
    expect(page.locator(".tl-agent .tl-body")).to_have_text("سيصل غدا")
    expect(page.locator("#threadline-widget")).to_have_attribute("dir", "rtl")
    found = axe(page, "arabic")
    shots(page, "arabic")
    assert found == [], json.dumps(found, indent=1)


def test_without_widget_strings_every_control_is_named_in_built_in_english(context_for, site, shots):  # noqa: F811
    page = context_for("de-DE").new_page()
    page.route("**/widget/strings*", lambda route: route.abort())
    page.goto(site.shop.origin + "/shop?locale=de")
    launcher = page.locator(".tl-launcher")
    expect(launcher).to_have_accessible_name(WIDGET_STRINGS["launcher"])
    found = axe(page, "strings failed, closed")
    launcher.click()
    expect(page.locator(".tl-close")).to_have_accessible_name("Close")
    expect(page.locator(".tl-input")).to_have_accessible_name(WIDGET_STRINGS["placeholder"])
    expect(page.locator(".tl-send")).to_have_text("Send")
    expect(page.locator(".tl-log")).to_have_accessible_name("Messages")
    expect(page.locator(".tl-panel")).to_have_accessible_name("Support")
    # The widget's own server is refused too now (the network is down): the error shows, named and announced.
    page.route("**/api/v1/**", lambda route: route.abort())
    page.locator(".tl-input").fill("Hallo")
    page.locator(".tl-input").press("Enter")
    expect(page.locator(".tl-error")).to_have_text(WIDGET_STRINGS["error_generic"])
    expect(page.locator(".tl-input")).to_have_accessible_description(WIDGET_STRINGS["error_generic"])
    found += axe(page, "strings failed, error shown")
    shots(page, "strings-failed")
    assert found == [], json.dumps(found, indent=1)


def test_the_built_in_english_is_the_same_as_the_catalogs_source_strings():
    source = SCRIPT.read_text(encoding="utf-8")
    match = re.search(r"/\* strings \*/ (\{.*?\}) /\* end strings \*/", source, re.DOTALL)
    assert match, "FALLBACK in threadline.js lost its markers"
    assert json.loads(match.group(1)) == WIDGET_STRINGS


# --- keyboard alone ----------------------------------------------------------------------------------------------
def test_a_keyboard_only_walk(context_for, site, shots):  # noqa: F811
    page = context_for("en-US").new_page()
    page.goto(site.shop.origin + "/shop?locale=en")
    launcher = page.locator(".tl-launcher")
    expect(launcher).to_have_attribute("aria-expanded", "false")  # from the start, with what it controls
    expect(launcher).to_have_attribute("aria-controls", "tl-panel")
    expect(launcher).to_have_text("Chat with us")
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED) == "tl-launcher"
    page.keyboard.press("Enter")
    expect(page.locator(".tl-panel")).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    assert page.evaluate(FOCUSED) == "tl-input"

    # Enter sends; focus stays in the text box.
    page.keyboard.type("Where is my parcel?")
    page.keyboard.press("Enter")
    expect(page.locator(".tl-end_user .tl-body")).to_have_text("Where is my parcel?")
    assert page.evaluate(FOCUSED) == "tl-input"
    # Send by its button: focus never falls to the page, and comes back to the text box.
    page.keyboard.type("It was due Monday.")
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED) == "tl-send"
    page.keyboard.press("Enter")
    expect(page.locator(".tl-end_user .tl-body").last).to_have_text("It was due Monday.")
    eventually(lambda: page.evaluate(FOCUSED) == "tl-input")
    # Backwards: the attach button, the message list (scrollable by keys), then the close button.
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(FOCUSED) == "tl-attach"
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(FOCUSED) == "tl-log"
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(FOCUSED) == "tl-close"

    # Escape is the close button: the first time it offers the reply by email, in the offer's address field.
    page.keyboard.press("Escape")
    expect(page.locator(".tl-offer")).to_be_visible()
    assert page.evaluate(FOCUSED) == "tl-email-input"
    email = page.locator(".tl-offer .tl-email-input")
    page.keyboard.type("ada@")
    page.keyboard.press("Enter")
    error = page.locator(".tl-offer .tl-email-error")
    expect(error).not_to_have_text("")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description(error.text_content() or "")
    assert page.evaluate(FOCUSED) == "tl-email-input"
    shots(page, "keyboard-email-error")
    page.keyboard.type("example.com")
    page.keyboard.press("Enter")
    expect(page.locator(".tl-offer .tl-email-saved")).to_contain_text("ada@example.com")
    assert page.evaluate(FOCUSED) == "tl-email-saved"  # the confirmation, in place of the removed form
    # Escape again closes; focus is back on the launcher.
    page.keyboard.press("Escape")
    expect(page.locator(".tl-panel")).to_be_hidden()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    assert page.evaluate(FOCUSED) == "tl-launcher"
    # Space opens it again; the close button by keyboard closes and gives focus back to the launcher too.
    page.keyboard.press("Space")
    expect(page.locator(".tl-panel")).to_be_visible()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(FOCUSED) == "tl-close"
    page.keyboard.press("Enter")
    expect(page.locator(".tl-panel")).to_be_hidden()
    assert page.evaluate(FOCUSED) == "tl-launcher"


def test_others_messages_are_announced_and_the_end_users_own_are_not(context_for, site):  # noqa: F811
    page = context_for("en-US").new_page()
    public_id = _start(page, site, "My own words")
    agent_reply(site.db, site.clock, public_id, "The team's answer")
    expect(page.locator(".tl-agent .tl-body")).to_have_text("The team's answer")
    log = page.locator(".tl-log")
    expect(log).to_have_attribute("role", "log")
    expect(log).to_have_accessible_name("Messages")
    expect(page.locator(".tl-messages > li")).to_have_count(2)  # a real list inside the log
    announcer = page.locator("[aria-live=polite]")
    expect(announcer).to_have_text("Ana Agent: The team's answer")
    # The status line is read without its decorative dot; message bodies find their own direction.
    expect(page.locator(".tl-dot")).to_have_attribute("aria-hidden", "true")
    expect(page.locator(".tl-agent .tl-body")).to_have_attribute("dir", "auto")
    expect(page.locator(".tl-end_user .tl-body")).to_have_attribute("lang", "en-US")


# --- phones ------------------------------------------------------------------------------------------------------
TOUCH_TARGETS = (".tl-close", ".tl-send", ".tl-input", ".tl-offer .tl-email-input", ".tl-offer .tl-email-submit",
                 ".tl-offer-dismiss")


@pytest.mark.parametrize("size", [(390, 844), (360, 640)])
def test_on_a_phone_the_composer_stays_above_the_keyboard(context_for, site, shots, size):  # noqa: F811
    width, height = size
    page = context_for("en-US", width, height, is_mobile=True, has_touch=True).new_page()
    page.goto(site.url + "/")
    launcher = page.locator(".tl-launcher")
    box = launcher.bounding_box()
    assert box and box["width"] >= 44 and box["height"] >= 44, box
    launcher.tap()
    expect(page.locator(".tl-panel")).to_be_visible()
    for selector in (".tl-input",):
        assert page.locator(selector).evaluate("node => getComputedStyle(node).fontSize") == "16px"
    public_id = None
    for n in range(6):  # enough messages to scroll
        page.locator(".tl-input").fill(f"Message {n}: my parcel is late and I would like to know when it arrives.")
        page.locator(".tl-send").tap()
        expect(page.locator(".tl-end_user .tl-body").last).to_contain_text(f"Message {n}:")
        public_id = public_id or _conversation_id(page, site)
    agent_reply(site.db, site.clock, public_id, "Tomorrow morning.")
    expect(page.locator(".tl-agent .tl-body")).to_have_text("Tomorrow morning.")
    panel = _box(page, ".tl-panel")
    assert panel["width"] == width  # edge to edge
    assert _inside(page, _box(page, ".tl-composer")) and _visible_in_log(page, ".tl-agent")
    shots(page, f"phone-{width}x{height}")
    # The on-screen keyboard comes up: the visible height shrinks by about 40 %.
    page.locator(".tl-input").focus()
    page.set_viewport_size({"width": width, "height": int(height * 0.6)})
    eventually(lambda: _inside(page, _box(page, ".tl-composer")))
    assert _inside(page, _box(page, ".tl-send")) and _inside(page, _box(page, ".tl-close"))
    agent_reply(site.db, site.clock, public_id, "Anything else?")
    expect(page.locator(".tl-agent .tl-body").last).to_have_text("Anything else?")
    eventually(lambda: _visible_in_log(page, ".tl-agent"))
    found = axe(page, f"phone {width}x{height} with the keyboard up")
    shots(page, f"phone-{width}x{height}-keyboard")
    # The offer's controls are touch-sized too.
    page.set_viewport_size({"width": width, "height": height})
    page.locator(".tl-close").tap()
    expect(page.locator(".tl-offer")).to_be_visible()
    for selector in TOUCH_TARGETS:
        target = _box(page, selector)
        assert target["width"] >= 44 and target["height"] >= 44, (selector, target)
    assert page.locator(".tl-offer .tl-email-input").evaluate("node => getComputedStyle(node).fontSize") == "16px"
    assert found == [], json.dumps(found, indent=1)


def test_the_visual_viewport_keeps_the_composer_above_a_keyboard_that_does_not_resize_the_page(context_for, site):  # noqa: F811
    # iOS Safari and recent Android Chrome leave the layout viewport alone and shrink only window.visualViewport.
    # Chromium on a desktop never does that, so the page's visualViewport is replaced by one the test moves.
    context = context_for("en-US", 390, 844, is_mobile=True, has_touch=True)
    context.add_init_script("""
      const fake = new EventTarget();
      Object.assign(fake, {width: 390, height: 844, offsetTop: 0, offsetLeft: 0, scale: 1});
      Object.defineProperty(window, 'visualViewport', {configurable: true, get: () => fake});
      window.raiseKeyboard = (height) => {
        fake.height = 844 - height; fake.dispatchEvent(new Event('resize'));
      };
    """)
    page = context.new_page()
    _start(page, site, "Hello from a phone")
    panel = _box(page, ".tl-panel")
    assert panel["y"] > 844 / 3  # the lower part of the screen: the page's own top stays usable
    page.evaluate("raiseKeyboard(336)")
    expect(page.locator(".tl-panel")).to_have_class(re.compile(r"\btl-keyboard\b"))
    panel, composer = _box(page, ".tl-panel"), _box(page, ".tl-composer")
    assert panel["y"] == 0 and panel["height"] == 844 - 336  # exactly the part above the keyboard
    assert composer["y"] + composer["height"] <= 844 - 336 + 0.5
    assert _box(page, ".tl-end_user")["y"] + 10 < composer["y"]
    page.evaluate("raiseKeyboard(0)")
    expect(page.locator(".tl-panel")).not_to_have_class(re.compile(r"\btl-keyboard\b"))


@pytest.mark.parametrize("size", [(320, 256), (844, 390)])  # 400 % zoom (WCAG 1.4.10); a phone held sideways
def test_reflow_keeps_the_header_composer_and_latest_message(context_for, site, shots, size):  # noqa: F811
    width, height = size
    page = context_for("en-US", width, height).new_page()
    public_id = _start(page, site, "Hello at 400 % zoom")
    agent_reply(site.db, site.clock, public_id, "We read you.")
    expect(page.locator(".tl-agent .tl-body")).to_have_text("We read you.")
    for selector in (".tl-close", ".tl-title", ".tl-composer", ".tl-send"):
        assert _inside(page, _box(page, selector)), selector
    eventually(lambda: _visible_in_log(page, ".tl-agent"))
    log = _box(page, ".tl-log")
    assert log["height"] >= height * 0.2, log  # at least a message's worth of list (85 px sideways before)
    assert _box(page, ".tl-panel")["height"] == height  # the whole screen
    # Nothing needs scrolling sideways.
    assert page.locator(".tl-panel").evaluate("node => node.scrollWidth <= node.clientWidth")
    found = axe(page, f"{width}x{height}")
    shots(page, f"reflow-{width}x{height}")
    assert found == [], json.dumps(found, indent=1)


# --- the unread badge ----------------------------------------------------------------------------------------------
def test_the_unread_badge_counts_replies_while_closed_and_clears_when_read(context_for, site, shots):  # noqa: F811
    page = context_for("en-US").new_page()
    page.goto(site.shop.origin + "/shop?locale=en&poll=1")
    launcher, badge = page.locator(".tl-launcher"), page.locator(".tl-badge")
    launcher.click()
    page.locator(".tl-input").fill("Hi")
    page.locator(".tl-input").press("Enter")
    expect(page.locator(".tl-end_user .tl-body")).to_have_text("Hi")
    public_id = _conversation_id(page, site)
    page.keyboard.press("Escape")
    page.locator(".tl-offer-dismiss").click()
    page.keyboard.press("Escape")
    expect(page.locator(".tl-panel")).to_be_hidden()
    expect(badge).to_be_hidden()
    expect(launcher).to_have_accessible_name("Chat with us")
    agent_reply(site.db, site.clock, public_id, "First reply")
    expect(badge).to_have_text("1")  # the closed widget asked for replies
    expect(launcher).to_have_accessible_name("Chat with us, 1 new message")
    agent_reply(site.db, site.clock, public_id, "Second reply")
    expect(badge).to_have_text("2")
    expect(launcher).to_have_accessible_name("Chat with us, 2 new messages")
    expect(badge).to_have_attribute("aria-hidden", "true")  # the name says it; the number is for the eyes
    expect(page.locator("[aria-live=polite]")).to_contain_text("2 new messages")
    shots(page, "unread-badge-2")
    # Reading them clears it (and tells the server).
    launcher.click()
    expect(page.locator(".tl-agent .tl-body").last).to_have_text("Second reply")
    expect(badge).to_be_hidden()
    expect(launcher).to_have_accessible_name("Chat with us")
    row = conversation_row(site.db, public_id)
    eventually(lambda: conversation_row(site.db, public_id).end_user_read_seq == row.last_seq)
    page.keyboard.press("Escape")
    expect(badge).to_be_hidden()
    # Back on the page later: replies that came meanwhile are counted at once.
    agent_reply(site.db, site.clock, public_id, "While you were away")
    page.reload()
    expect(badge).to_have_text("1")


def test_the_unread_count_is_said_in_the_end_users_language(context_for, site):  # noqa: F811
    page = context_for("de-DE").new_page()
    public_id = _start(page, site, "Hallo")
    page.evaluate(HIDE)  # open, but the tab is in the background: nobody reads
    agent_reply(site.db, site.clock, public_id, "Antwort eins")
    agent_reply(site.db, site.clock, public_id, "Antwort zwei")
    german = widget_strings("de")
    expected = german["counts"]["unread"][2]  # the catalog's plural form for 2 (English until translated)
    expect(page.locator(".tl-badge")).to_have_text("2")
    expect(page.locator(".tl-launcher")).to_have_accessible_name(f"{german['strings']['launcher']}, {expected}")
    page.evaluate(SHOW)
    expect(page.locator(".tl-badge")).to_be_hidden()


# --- right to left ------------------------------------------------------------------------------------------------
def test_arabic_sets_dir_and_lang_and_setlocale_relabels_everything(context_for, site, shots):  # noqa: F811
    page = context_for("ar").new_page()
    public_id = _start(page, site, "مرحبا")
    host = page.locator("#threadline-widget")
    expect(host).to_have_attribute("dir", "rtl")
    expect(host).to_have_attribute("lang", "ar")
    agent_reply(site.db, site.clock, public_id, "Hello in English")
    expect(page.locator(".tl-agent .tl-body")).to_have_text("Hello in English")
    expect(page.locator(".tl-agent .tl-body")).to_have_attribute("dir", "auto")
    own, agent = _box(page, ".tl-end_user .tl-body"), _box(page, ".tl-agent .tl-body")
    assert own["x"] + own["width"] < agent["x"]  # opposite sides, own messages on the left
    arabic = widget_strings("ar")["strings"]
    expect(page.locator(".tl-log")).to_have_accessible_name(arabic["messages"])
    page.evaluate("Threadline.setLocale('en')")
    expect(host).to_have_attribute("dir", "ltr")
    expect(page.locator(".tl-log")).to_have_accessible_name("Messages")
    expect(page.locator(".tl-close")).to_have_accessible_name("Close")
    expect(page.locator(".tl-launcher")).to_have_text("Chat with us")
    own, agent = _box(page, ".tl-end_user .tl-body"), _box(page, ".tl-agent .tl-body")
    assert agent["x"] + agent["width"] < own["x"]


def test_the_end_users_language_is_the_message_bodies_lang(context_for, site):  # noqa: F811
    page = context_for("de-DE").new_page()
    public_id = _start(page, site, "Guten Tag")
    with site.db.read_session() as session:
        language = session.get(EndUser, conversation_row(site.db, public_id).end_user_id).language
    expect(page.locator(".tl-end_user .tl-body")).to_have_attribute("lang", language.replace("_", "-"))

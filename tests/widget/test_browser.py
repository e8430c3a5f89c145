"""The widget in a real browser: Debian's headless Chromium against a real uvicorn server on 127.0.0.1."""
from __future__ import annotations

import html
import http.server
import socket
import threading
import urllib.parse
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import expect, sync_playwright
from sqlmodel import select

from core import schema
from core.clock import FixedClock
from core.config import Config
from core.conversations import ConversationService
from core.db import Database
from core.models import EndUser, Message
from core.tokens import TokenSigner
from core.triggers import REQUEST_EMAIL, TriggerService
from tests.widget.conftest import SECRET, agent_reply, conversation_row, eventually, identity
from widget.app import create_app

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
# Records the widget's read-mark requests the moment it makes them (a test's eyes, not part of the widget).
RECORD_READS = """
window.__reads = [];
const originalFetch = window.fetch;
window.fetch = function (url, options) {
  if (String(url).endsWith('/read')) window.__reads.push(JSON.parse(options.body).seq);
  return originalFetch.apply(this, arguments);
};
"""
HIDE = """() => {
  Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
  Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
  document.dispatchEvent(new Event('visibilitychange'));
}"""
SHOW = """() => {
  Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'visible'});
  Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});
  document.dispatchEvent(new Event('visibilitychange'));
}"""


# README's queue stub, then calls a host page makes before the widget's script has loaded; window.QUEUED_IDENTITY
# is set by the test (a signature the host's backend would compute).
QUEUE_STUB = """
window.Threadline = window.Threadline || function () { (Threadline.q = Threadline.q || []).push(arguments); };
Threadline('setLocale', 'de');
if (window.QUEUED_IDENTITY) Threadline('identify', window.QUEUED_IDENTITY);
Threadline('open');
"""


class Site:
    """One widget server for the module: its address, database, clock and configuration."""

    def __init__(self, url: str, db: Database, clock: FixedClock, config: Config, app, shop: HostSite,
                 evil: HostSite) -> None:
        self.url, self.db, self.clock, self.config, self.app = url, db, clock, config, app
        self.shop, self.evil = shop, evil


class HostSite:
    """A customer's website on its own loopback port, embedding the widget with one script tag."""

    def __init__(self, widget_port: int) -> None:
        widget_url = f"http://127.0.0.1:{widget_port}"

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                locale = query.get("locale", ["en"])[0]
                # ?poll=N: the closed widget asks for replies every N seconds (the unread badge's tests).
                poll = f' data-poll-seconds="{int(query["poll"][0])}"' if "poll" in query else ""
                if urllib.parse.urlsplit(self.path).path == "/stub.js":  # the host page's own script, before ours
                    self._send("text/javascript", QUEUE_STUB.encode())
                    return
                if "stub" in query:  # calls queued before the widget's script loads, as README's snippet does
                    body = (f'<!doctype html><html><body><h1>Shop</h1><script src="/stub.js"></script>'
                            f'<script src="{widget_url}/widget/threadline.js" defer></script></body></html>')
                else:
                    body = (f'<!doctype html><html><body><h1>Shop</h1><script src="{widget_url}/widget/threadline.js" '
                            f'data-locale="{html.escape(locale)}"{poll} defer></script></body></html>')
                self._send("text/html; charset=utf-8", body.encode())

            def _send(self, content_type: str, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    folder = tmp_path_factory.mktemp("widget-browser")
    db = Database(f"sqlite:///{folder / 'threadline.db'}")
    schema.upgrade(db.engine)
    clock = FixedClock()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    shop, evil = HostSite(port), HostSite(port)
    config = Config()
    config.general.secret = SECRET
    config.widget.allowed_origins = [shop.origin]
    app = create_app(config, db, clock, TokenSigner(SECRET), poll_interval=0.05)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", ws="auto"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    eventually(lambda: server.started, timeout=10)
    yield Site(f"http://127.0.0.1:{port}", db, clock, config, app, shop, evil)
    shop.stop()
    evil.stop()
    server.should_exit = True
    thread.join(10)
    listener.close()
    db.dispose()


@pytest.fixture(scope="module")
def browser(site):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="de-DE")
    context.add_init_script(RECORD_READS)
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    yield page
    context.close()


def _stored(page) -> dict:
    return page.evaluate("JSON.parse(localStorage.getItem('threadline:' + location.origin))")


def _start(page, site, text: str = "Hello, I need help") -> str:
    page.goto(site.url + "/")
    page.locator(".tl-launcher").click()
    expect(page.locator(".tl-status")).not_to_have_text("")
    page.locator(".tl-input").fill(text)
    page.locator(".tl-input").press("Enter")
    expect(page.locator(".tl-end_user .tl-body").last).to_have_text(text)
    return _stored(page)["conversation"]


def test_a_conversation_starts_and_an_agent_reply_is_pushed_and_read_while_visible(page, site):
    public_id = _start(page, site)
    with site.db.read_session() as session:
        end_user = session.get(EndUser, conversation_row(site.db, public_id).end_user_id)
    assert end_user.language == "de_DE"  # from navigator.languages, as no data-locale was given
    seq = agent_reply(site.db, site.clock, public_id, "Hi! How can I help?")
    expect(page.locator(".tl-agent .tl-body")).to_have_text("Hi! How can I help?")
    expect(page.locator(".tl-agent .tl-author")).to_have_text("Ana Agent")
    eventually(lambda: conversation_row(site.db, public_id).end_user_read_seq == seq)


def test_a_reply_that_arrives_while_the_page_is_hidden_stays_unread_until_shown(page, site):
    public_id = _start(page, site)
    page.evaluate(HIDE)
    seq = agent_reply(site.db, site.clock, public_id, "Are you still there?")
    expect(page.locator(".tl-agent .tl-body")).to_have_text("Are you still there?")
    assert all(read < seq for read in page.evaluate("window.__reads"))
    assert conversation_row(site.db, public_id).end_user_read_seq < seq
    page.evaluate(SHOW)
    eventually(lambda: conversation_row(site.db, public_id).end_user_read_seq == seq)


def test_a_closed_widget_leaves_replies_unread_and_closing_the_page_drops_presence(page, site):
    public_id = _start(page, site)
    eventually(lambda: conversation_row(site.db, public_id).end_user_present)
    page.evaluate("Threadline.close()")
    eventually(lambda: not conversation_row(site.db, public_id).end_user_present)
    seq = agent_reply(site.db, site.clock, public_id, "We replied while you were away")
    page.evaluate("Threadline.open()")
    expect(page.locator(".tl-agent .tl-body")).to_have_text("We replied while you were away")
    eventually(lambda: conversation_row(site.db, public_id).end_user_read_seq == seq)
    eventually(lambda: conversation_row(site.db, public_id).end_user_present)
    page.close()
    eventually(lambda: not conversation_row(site.db, public_id).end_user_present)


def test_the_email_form_shows_the_servers_error_then_accepts_an_internationalized_address(page, site):
    with site.db.session() as session:
        triggers = TriggerService(session, site.clock)
        triggers.ensure_builtins()
        trigger = triggers.by_key(REQUEST_EMAIL)
        triggers.activate(trigger.id)
    try:
        public_id = _start(page, site)
        form = page.locator(".tl-email-form")
        expect(form).to_be_visible()
        form.locator("input").fill("jörg@")
        form.locator("button").click()
        expect(form.locator(".tl-email-error")).to_contain_text("jörg@")
        form.locator("input").fill("jörg@bücher.example")
        form.locator("button").click()
        expect(page.locator(".tl-email-saved")).to_contain_text("jörg@bücher.example")
        with site.db.read_session() as session:
            end_user = session.get(EndUser, conversation_row(site.db, public_id).end_user_id)
        assert end_user.email == "jörg@bücher.example" and not end_user.email_verified
        # Back on the page later: the request shows the acknowledgement, not the form again.
        page.reload()
        page.locator(".tl-launcher").click()
        expect(page.locator(".tl-email-saved")).to_contain_text("jörg@bücher.example")
        expect(page.locator(".tl-email-form")).to_have_count(0)
    finally:
        with site.db.session() as session:
            TriggerService(session, site.clock).deactivate(trigger.id)


def test_identify_trusts_a_good_signature_and_refuses_a_bad_one(page, site):
    public_id = _start(page, site)
    bad = page.evaluate("""() => Threadline.identify({user_id: 'u9', email: 'eve@example.com', name: 'Eve',
        expires_at: 4102444800, signature: '00'.repeat(32)}).then(() => 'accepted', (error) => error.code)""")
    assert bad == "invalid_signature"
    signed = identity(site.config, site.clock, "ada@example.com", name="Ada")
    good = page.evaluate("(fields) => Threadline.identify(fields)", signed)
    assert good["email"] == "ada@example.com" and good["email_verified"] is True
    with site.db.read_session() as session:
        end_user = session.get(EndUser, conversation_row(site.db, public_id).end_user_id)
    assert (end_user.email, end_user.email_verified, end_user.name) == ("ada@example.com", True, "Ada")


def test_a_return_link_opens_the_widget_on_the_same_conversation(page, site):
    with site.db.session() as session:
        conversations = ConversationService(session, site.clock)
        end_user = conversations.create_end_user("Ada", "ada@example.com")
        conversation = conversations.start_conversation(end_user.id)
        conversations.post_end_user_message(conversation.id, "My parcel is late")
    agent_reply(site.db, site.clock, conversation.public_id, "It arrives tomorrow.")
    token = site.app.state.desk.return_link_token(conversation.id)
    page.goto(f"{site.url}/return/{token}")
    expect(page.locator(".tl-agent .tl-body")).to_have_text("It arrives tomorrow.")
    assert token not in page.url and page.url.endswith("/conversation")
    expect(page.locator("h1")).to_contain_text("Support")  # the brand name, in whatever language
    assert _stored(page)["conversation"] == conversation.public_id
    page.locator(".tl-input").fill("Thanks, continuing here")
    page.locator(".tl-input").press("Enter")
    expect(page.locator(".tl-end_user .tl-body").last).to_have_text("Thanks, continuing here")
    with site.db.read_session() as session:
        bodies = [m.body for m in session.exec(select(Message).where(Message.conversation_id == conversation.id))]
    assert bodies[-1] == "Thanks, continuing here"
    # Reloading the page keeps the conversation (the end-user token is kept, the link's token is gone).
    page.reload()
    expect(page.locator(".tl-end_user .tl-body").last).to_have_text("Thanks, continuing here")
    expect(page.locator(".tl-error")).to_have_text("")


def test_markup_in_messages_is_shown_as_text(page, site):
    attack = "<img src=x onerror=alert(1)>"
    public_id = _start(page, site, attack)
    agent_reply(site.db, site.clock, public_id, attack + "<script>alert(2)</script>")
    expect(page.locator(".tl-agent .tl-body")).to_have_text(attack + "<script>alert(2)</script>")
    images = page.evaluate(
        "document.getElementById('threadline-widget').shadowRoot.querySelectorAll('img, script').length"
    )
    assert images == 0 and page.dialogs == []


def _host_page(page, host: HostSite, locale: str) -> None:
    page.goto(f"{host.origin}/shop?locale={locale}")


def test_an_allowed_site_embeds_the_widget_and_data_locale_sets_the_language(page, site):
    _host_page(page, site.shop, "fr-CA")
    page.locator(".tl-launcher").click()
    page.locator(".tl-input").fill("Bonjour")
    page.locator(".tl-input").press("Enter")
    expect(page.locator(".tl-end_user .tl-body")).to_have_text("Bonjour")
    public_id = page.evaluate(f"JSON.parse(localStorage.getItem('threadline:{site.url}')).conversation")
    with site.db.read_session() as session:
        end_user = session.get(EndUser, conversation_row(site.db, public_id).end_user_id)
    assert end_user.language == "fr_CA"
    page.evaluate("Threadline.setLocale('it')")
    eventually(lambda: _language(site, public_id) == "it")


def _language(site, public_id: str) -> str | None:
    with site.db.read_session() as session:
        return session.get(EndUser, conversation_row(site.db, public_id).end_user_id).language


def test_a_site_outside_the_allowlist_cannot_start_conversations(page, site):
    with site.db.read_session() as session:
        before = len(list(session.exec(select(Message.id))))
    _host_page(page, site.evil, "en")
    page.locator(".tl-launcher").click()
    page.locator(".tl-input").fill("Let me in")
    page.locator(".tl-input").press("Enter")
    expect(page.locator(".tl-error")).not_to_have_text("")
    with site.db.read_session() as session:
        assert len(list(session.exec(select(Message.id)))) == before

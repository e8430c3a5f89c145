"""`threadline demo --headless` driven from outside: widget API as the end user, core as the agent, imaplib and
smtplib."""
from __future__ import annotations

import contextlib
import email
import email.policy
import email.utils
import imaplib
import json
import re
import signal
import smtplib
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from tests.system.processes import ROOT, stop
from threadline import demo

CHROMIUM = "/usr/bin/chromium"

def test_mail_routing_files_plus_addresses_under_support_and_end_users_under_their_own() -> None:
    assert demo.mailbox_for("support+tl.abc123@example.com") == demo.SUPPORT_ADDRESS
    assert demo.mailbox_for("Support@Example.COM") == demo.SUPPORT_ADDRESS
    assert demo.mailbox_for("alice@example.net") == "alice@example.net"
    assert demo.mailbox_for("mallory@example.com") is None
    assert demo.mailbox_for("support@elsewhere.test") is None


def test_demo_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    done = subprocess.run([sys.executable, "-m", "threadline", "demo", "--headless", "--data-dir", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "is not empty" in done.stderr, done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def _wait_for_file(path: Path, process: subprocess.Popen, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return json.loads(path.read_text())
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        time.sleep(0.05)
    raise AssertionError("the demo did not write its state file")


def _wait_for_email(address: str, password: str, port: int, timeout: float) -> EmailMessage:
    """The first email in address's inbox, looked for over IMAP until timeout (an outside observer has no push)."""
    deadline = time.monotonic() + timeout
    with imaplib.IMAP4("127.0.0.1", port, timeout=10) as client:
        client.login(address, password)
        while time.monotonic() < deadline:
            client.select("INBOX", readonly=True)
            _status, data = client.search(None, "ALL")
            numbers = (data[0] or b"").split()
            if numbers:
                _status, fetched = client.fetch(numbers[0], "(BODY.PEEK[])")
                raw = next(part[1] for part in fetched if isinstance(part, tuple))
                return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]
            time.sleep(0.2)
    raise AssertionError(f"no email reached {address} within {timeout} s")


def _agent_replies(database_url: str, public_id: str, text: str) -> None:
    """The agent's side, through the core service on the demo's database (as the console would)."""
    from sqlmodel import select

    from core.agents import AgentService
    from core.clock import SystemClock
    from core.conversations import ConversationService
    from core.db import Database
    from core.models import Conversation

    database = Database(database_url)
    try:
        with database.session() as session:
            clock = SystemClock()
            agent = AgentService(session, clock).by_handle(demo.AGENT_HANDLE)
            conversations = ConversationService(session, clock)
            conversation = session.exec(select(Conversation).where(Conversation.public_id == public_id)).one()
            conversations.post_agent_message(conversation.id, agent.id, text)
    finally:
        database.dispose()


@contextlib.contextmanager
def running_demo(tmp_path: Path, inactivity_seconds: int = 2) -> Iterator[dict]:
    """`threadline demo --headless` in a subprocess; yields its state file; stops it with SIGTERM and checks exit 0."""
    state_file = tmp_path / "state.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "threadline", "demo", "--headless", "--port", "0",
         "--inactivity-seconds", str(inactivity_seconds), "--data-dir", str(tmp_path / "demo"),
         "--state-file", str(state_file)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield _wait_for_file(state_file, process)
    finally:
        code = stop(process, signal.SIGTERM, timeout=30)
        output = process.stdout.read().decode(errors="replace") if process.stdout else ""
    assert code == 0, output
    assert "Threadline demo is running." in output


def _chat_and_leave(widget: httpx.Client, database_url: str) -> tuple[dict, str]:
    """The end user starts a chat with their address and leaves (no socket open: not present); the agent answers."""
    started = widget.post("/api/v1/conversations", json={"name": "Alice", "email": "alice@example.net"})
    assert started.status_code == 201, started.text
    token, public_id = started.json()["token"], started.json()["conversation"]["id"]
    auth = {"Authorization": f"Bearer {token}"}
    posted = widget.post(f"/api/v1/conversations/{public_id}/messages", headers=auth,
                         json={"body": "Hello, my parcel <b>never</b> arrived."})
    assert posted.status_code in (200, 201), posted.text
    _agent_replies(database_url, public_id, "Sorry! We are sending a <new> one today.")
    return auth, public_id


def _chromium():
    """Debian's headless Chromium through playwright (skips when it is not installed)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
    return playwright, browser


@pytest.mark.browser
def test_unread_reply_reaches_the_demo_mailbox_and_the_page_answers_it_over_smtp(tmp_path: Path) -> None:
    with running_demo(tmp_path) as state, httpx.Client(base_url=state["url"], timeout=10) as widget:
        assert widget.get("/healthz").json()["status"] == "ok"
        _chat_and_leave(widget, state["database_url"])
        notification = _wait_for_email("alice@example.net", state["mailbox_password"], state["imap_port"], 30)
        assert "We are sending a <new> one today." in notification.get_body(("plain",)).get_content()

        page_html = widget.get("/demo/mailbox")
        assert page_html.status_code == 200
        assert "We are sending a &lt;new&gt; one today." in page_html.text and "<new>" not in page_html.text

        # The reply form, sent by a real browser with only what it sends by itself (its own Origin).
        playwright, browser = _chromium()
        try:
            page = browser.new_page()
            page.goto(state["mailbox_url"])
            article = page.locator("section", has_text="alice@example.net").locator("article").first
            expect(article.locator("pre")).to_contain_text("We are sending a <new> one today.")
            article.locator("textarea").fill("Thanks, page reply here.")
            article.locator("button[type=submit]").click()
            expect(page.locator(".notice")).to_be_visible()
            assert page.url.endswith("/demo/mailbox?sent=1")
        finally:
            browser.close()
            playwright.stop()
        # The reply went through the embedded SMTP server into the support mailbox, threaded to the notification.
        reply = _wait_for_email(demo.SUPPORT_ADDRESS, state["mailbox_password"], state["imap_port"], 10)
        assert reply["In-Reply-To"] == notification["Message-ID"]
        assert reply["To"].addresses[0].addr_spec.startswith("support+")
        assert "Thanks, page reply here." in reply.get_body(("plain",)).get_content()

        uid = re.search(r"name='address' value='alice@example.net'><input type='hidden' name='uid' value='(\d+)'",
                        page_html.text).group(1)
        refused = widget.post("/demo/mailbox/reply", data={"address": "mallory@example.com", "uid": uid, "body": "x"})
        assert refused.status_code == 400 and refused.headers["content-type"].startswith("text/html")
        assert "<p class='problem' role='alert'>" in refused.text and "/demo/mailbox" in refused.text


def test_whole_loop_chat_leave_email_reply_lands_in_the_conversation_within_5_s(tmp_path: Path) -> None:
    with running_demo(tmp_path) as state, httpx.Client(base_url=state["url"], timeout=10) as widget:
        auth, public_id = _chat_and_leave(widget, state["database_url"])
        notification = _wait_for_email("alice@example.net", state["mailbox_password"], state["imap_port"], 30)
        reply_to = notification["Reply-To"] or notification["From"]

        reply = EmailMessage()
        reply["From"] = "Alice <alice@example.net>"
        reply["To"] = str(reply_to)
        reply["Subject"] = f"Re: {notification['Subject']}"
        reply["Message-ID"] = email.utils.make_msgid(domain="example.net")
        reply["In-Reply-To"] = notification["Message-ID"]
        reply["References"] = notification["Message-ID"]
        reply.set_content("Thank you, that works for me!\n\n> Sorry! We are sending a <new> one today.")
        sent_at = time.monotonic()
        with smtplib.SMTP("127.0.0.1", state["smtp_port"], timeout=10) as smtp:
            smtp.send_message(reply)

        arrived = None
        while arrived is None and time.monotonic() - sent_at < 5.0:
            messages = widget.get(f"/api/v1/conversations/{public_id}/messages", headers=auth).json()["messages"]
            arrived = next((m for m in messages if m["author"] == "end_user" and m["channel"] == "email"), None)
            if arrived is None:
                time.sleep(0.1)
        assert arrived is not None, "the email reply did not reach the conversation within 5 s"
        assert arrived["body"].startswith("Thank you, that works for me!")

"""README's demo, as a new user follows it: `threadline demo` with the agent console in a real terminal (tmux), the
widget and the demo mailbox page in headless Chromium (no header set by hand), the whole loop from chat to email and
back."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.system.processes import ROOT
from tests.system.test_demo import _wait_for_email

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
# Short enough for a test, long enough that the widget's own reads come first; given to the demo by its option.
INACTIVITY_SECONDS = 3


class Terminal:
    """A tmux server of our own (its own socket), one window of a fixed size running one command."""

    def __init__(self, command: list[str], width: int = 140, height: int = 40) -> None:
        self.socket = f"threadline-walkthrough-{uuid.uuid4().hex[:8]}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_") and k != "TMUX"}
        env.update({"TERM": "xterm-256color", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"})
        shell_line = " ".join(f"'{part}'" for part in command)
        subprocess.run(["tmux", "-L", self.socket, "new-session", "-d", "-s", "demo", "-x", str(width), "-y",
                        str(height), f"cd '{ROOT}' && exec {shell_line}"],
                       check=True, env=env, timeout=20)

    def keys(self, *keys: str, literal: bool = False) -> None:
        subprocess.run(["tmux", "-L", self.socket, "send-keys", "-t", "demo", *(["-l"] if literal else []), *keys],
                       check=True, timeout=10)

    def screen(self) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, "capture-pane", "-p", "-t", "demo"],
                              capture_output=True, text=True, timeout=10)
        return done.stdout

    def wait_for(self, pattern: str, timeout: float = 30.0) -> str:
        """The screen once pattern shows on it (the console redraws on its own schedule)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if re.search(pattern, screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{pattern!r} not on the console within {timeout} s:\n{self.screen()}")

    def running(self) -> bool:
        return subprocess.run(["tmux", "-L", self.socket, "has-session", "-t", "demo"],
                              capture_output=True, timeout=10).returncode == 0

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)


@pytest.fixture
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()


@pytest.fixture
def console(tmp_path):
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (apt-get install tmux)")
    state_file = tmp_path / "state.json"
    terminal = Terminal([sys.executable, "-m", "threadline", "demo", "--port", "0",
                                   "--inactivity-seconds", str(INACTIVITY_SECONDS),
                                   "--data-dir", str(tmp_path / "demo"), "--state-file", str(state_file)])
    try:
        state = _wait_for_state(state_file, terminal)
        # What README says the demo prints before the console takes the screen, then the console itself.
        terminal.wait_for(r"Threadline — Demo Agent \(demo\)")
        yield terminal, state
        terminal.keys("Escape")  # leave the reply box (alone: an Escape followed at once by q reads as Alt+q)
        terminal.wait_for(r"esc Back")
        terminal.keys("Escape")  # back to the queue
        terminal.wait_for(r"n Take next")
        terminal.keys("q")  # quitting asks first (a demo with --data-dir keeps its data, so the plain question)
        terminal.wait_for(r"Quit Threadline\?")
        terminal.keys("y")  # quitting the console stops the demo
        deadline = time.monotonic() + 30
        while terminal.running() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not terminal.running(), "quitting the console did not stop the demo"
    finally:
        terminal.close()


def _wait_for_state(path: Path, terminal: Terminal, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return json.loads(path.read_text())
        assert terminal.running(), "the demo stopped before it wrote its state file"
        time.sleep(0.1)
    raise AssertionError(f"the demo wrote no state file:\n{terminal.screen()}")


def test_readme_demo_chat_answer_give_email_leave_reply_by_email_and_back(console, chromium):
    terminal, state = console
    # The end user opens the widget URL and writes.
    context = chromium.new_context(locale="en-US")
    page = context.new_page()
    page.goto(state["url"])
    page.locator(".tl-launcher").click()
    expect(page.locator(".tl-status")).to_have_class("tl-status tl-online")  # the console made the agent online
    page.locator(".tl-input").fill("Hello, where is my parcel?")
    page.locator(".tl-input").press("Enter")
    expect(page.locator(".tl-end_user .tl-body")).to_have_text("Hello, where is my parcel?")

    # The agent sees it in the console's queue, opens it and answers.
    terminal.wait_for(r"Visitor #\d+ .*queued")
    terminal.keys("Enter")
    # The conversation screen itself, loaded: its header and its key bar. The message alone is not enough (the
    # queue's notification shows it too), and keys typed before the screen is up land on the queue or, worse,
    # on the transcript, where "s" solves the conversation.
    terminal.wait_for(r"status: \w+[\s\S]*Hello, where is my parcel\?[\s\S]*s +Solve")
    terminal.keys("r")
    terminal.wait_for(r"Reply \(Ctrl\+S sends")
    terminal.keys("It ships today.", literal=True)
    terminal.wait_for(r"│ *It ships today\.")  # in the reply box, not taken as keys
    terminal.keys("C-s")
    expect(page.locator(".tl-agent .tl-body")).to_have_text("It ships today.")
    terminal.wait_for(r"It ships today\.")

    # The agent is online, yet the widget offers the email reply when the end user leaves: they give it, close.
    page.locator(".tl-close").click()
    offer = page.locator(".tl-offer")
    expect(offer).to_be_visible()
    offer.locator("input").fill("alice@example.net")
    offer.locator(".tl-email-submit").click()
    expect(offer.locator(".tl-email-saved")).to_contain_text("alice@example.net")
    page.close()  # the tab is closed: presence ends

    # The agent writes once more; nobody reads it, so after the inactivity period it is emailed.
    terminal.wait_for(r"alice@example\.net")
    terminal.keys("Update: it is out for delivery.", literal=True)  # the reply box keeps the focus after sending
    terminal.keys("C-s")
    notification = _wait_for_email("alice@example.net", state["mailbox_password"], state["imap_port"],
                                   INACTIVITY_SECONDS + 30)
    assert "Update: it is out for delivery." in notification.get_body(("plain",)).get_content()
    terminal.wait_for(r"emailed \d\d:\d\d")

    # Alice answers on the demo mailbox page, in the browser, with nothing but what the browser sends.
    mailbox = context.new_page()
    mailbox.goto(state["mailbox_url"])
    article = mailbox.locator("section", has_text="alice@example.net").locator("article").first
    expect(article.locator("pre")).to_contain_text("Update: it is out for delivery.")
    article.locator("textarea").fill("Great, I will be home.")
    article.locator("button[type=submit]").click()
    expect(mailbox.locator(".notice")).to_be_visible()

    # The console shows the answer as an email...
    screen = terminal.wait_for(r"via email[\s\S]*Great, I will be home\.", timeout=30)
    assert "alice@example.net" in screen
    # ... and so does the widget when Alice comes back to the site.
    page = context.new_page()
    page.goto(state["url"])
    page.locator(".tl-launcher").click()
    own = page.locator(".tl-end_user").last
    expect(own.locator(".tl-body")).to_have_text(re.compile(r"^Great, I will be home\."))
    expect(own.locator(".tl-author")).to_have_text("You · via email")
    context.close()

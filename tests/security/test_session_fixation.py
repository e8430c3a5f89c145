"""Session fixation through a return link (issue 11, finding 2), in real headless Chromium.

An attacker sends a victim a host page address carrying the attacker's own return link. Before, the widget
silently swapped the victim's session for the attacker's, so what the victim typed next landed in the
attacker's conversation. Now the widget asks, keeps the victim's chat until they choose, and the link stays
unused."""
from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect
from sqlmodel import select

from core.models import Message
from tests.widget.conftest import conversation_row
from tests.widget.test_browser import browser, page, site  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def _bodies(served, public_id: str) -> list[str]:
    row = conversation_row(served.db, public_id)
    with served.db.read_session() as session:
        return [
            m.body for m in session.exec(select(Message).where(Message.conversation_id == row.id).order_by(Message.seq))
        ]


def test_a_return_link_from_someone_else_never_silently_replaces_the_visitors_chat(page, site):  # noqa: F811
    # The attacker's own conversation, and the return link their notification email carried.
    with httpx.Client(base_url=site.url, timeout=10) as attacker:
        started = attacker.post("/api/v1/conversations", json={})
        assert started.status_code == 201
    attacker_conversation = started.json()["conversation"]["id"]
    link = site.app.state.desk.return_link_token(conversation_row(site.db, attacker_conversation).id)

    # The victim chats on the shop's website.
    page.goto(f"{site.shop.origin}/shop")
    page.locator(".tl-launcher").click()
    page.locator(".tl-input").fill("My order 5531 never came")
    page.locator(".tl-input").press("Enter")
    expect(page.locator(".tl-end_user .tl-body").last).to_have_text("My order 5531 never came")
    victim_conversation = page.evaluate(f"JSON.parse(localStorage.getItem('threadline:{site.url}')).conversation")

    # The victim follows the attacker's address to the same website.
    page.goto(f"{site.shop.origin}/shop?threadline_return={link}")
    expect(page.locator(".tl-switch-question")).not_to_have_text("")
    assert "threadline_return" not in page.url
    assert (
        page.evaluate(f"JSON.parse(localStorage.getItem('threadline:{site.url}')).conversation") == victim_conversation
    )
    page.locator(".tl-input").fill("Here is my address: 1 Main Street")
    page.locator(".tl-input").press("Enter")
    expect(page.locator(".tl-end_user .tl-body").last).to_have_text("Here is my address: 1 Main Street")
    assert _bodies(site, victim_conversation)[-1] == "Here is my address: 1 Main Street"
    assert "Here is my address: 1 Main Street" not in _bodies(site, attacker_conversation)

    # Staying keeps everything as it was; the link was not used up by being looked at.
    page.locator(".tl-switch-stay").click()
    expect(page.locator(".tl-switch")).to_have_count(0)
    with httpx.Client(base_url=site.url, timeout=10) as attacker:
        assert attacker.post("/api/v1/return", json={"token": link}).status_code == 200

"""Help-center articles in the widget, in real headless Chromium: suggested after the first message while nobody is
online, opened inside the widget, "yes" solves the conversation as self-served, "no" leads to the email form."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from core.articles import ArticleService, self_served_count
from core.event_kinds import EventKind
from core.models import ConversationStatus, Event
from tests.widget.conftest import conversation_row, eventually
from tests.widget.test_browser import _start, browser, page, site  # noqa: F401 - the fixtures, one server per module

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", autouse=True)
def articles(site):  # noqa: F811 - the imported fixture
    with site.db.session() as session:
        service = ArticleService(session, site.clock)
        service.create("Passwort zurücksetzen", "Öffnen Sie die **Einstellungen** und wählen Sie *Passwort "
                       "zurücksetzen*. Sie bekommen einen Link per E-Mail.", "de", published=True)
        service.create("Rechnungsadresse ändern", "Die Rechnungsadresse steht im Konto.", "de", published=True)
        service.create("Passwort-Entwurf", "Passwort Passwort", "de")  # a draft: never suggested


def _events(site, public_id: str, kind: EventKind) -> list[Event]:  # noqa: F811
    conversation_id = conversation_row(site.db, public_id).id
    with site.db.read_session() as session:
        return list(session.exec(select(Event).where(Event.conversation_id == conversation_id,
                                                     Event.kind == kind.value)))


def _open_first_suggestion(page, site) -> str:  # noqa: F811
    public_id = _start(page, site, "Ich habe mein Passwort vergessen")
    titles = page.locator(".tl-article-title")
    expect(titles.first).to_have_text("Passwort zurücksetzen")
    expect(titles).to_have_count(1)
    expect(page.locator(".tl-article-snippet").first).to_contain_text("Einstellungen")
    page.locator(".tl-article-read").first.click()
    frame = page.frame_locator(".tl-article-frame")
    expect(frame.locator("h1")).to_have_text("Passwort zurücksetzen")
    expect(frame.locator("strong")).to_have_text("Einstellungen")  # Markdown rendered in the page
    expect(page.locator(".tl-article-question")).to_be_visible()
    eventually(lambda: _events(site, public_id, EventKind.article_read))
    return public_id


def test_yes_closes_the_conversation_as_self_served(page, site):  # noqa: F811
    public_id = _open_first_suggestion(page, site)
    assert len(_events(site, public_id, EventKind.article_suggested)) == 1
    page.locator(".tl-article-yes").click()
    expect(page.locator(".tl-article-solved")).to_be_visible()
    eventually(lambda: conversation_row(site.db, public_id).status is ConversationStatus.solved)
    assert _events(site, public_id, EventKind.conversation_self_served)
    with site.db.read_session() as session:
        assert self_served_count(session) >= 1


def test_no_keeps_the_conversation_queued_and_offers_the_email_form(page, site):  # noqa: F811
    public_id = _open_first_suggestion(page, site)
    page.locator(".tl-article-no").click()
    expect(page.locator(".tl-article-waiting")).to_be_visible()
    email_input = page.locator(".tl-offer .tl-email-form input")
    expect(email_input).to_be_visible()
    expect(email_input).to_be_focused()
    assert conversation_row(site.db, public_id).status is ConversationStatus.queued
    assert not _events(site, public_id, EventKind.conversation_self_served)

"""The help center over HTTP: public search, article pages (safe Markdown, localized, strict CSP), and the widget's
suggestions, reads and self-service on a waiting conversation."""
from __future__ import annotations

import pytest

from core.agents import AgentService
from core.articles import ArticleService, self_served_count
from core.models import AgentStatus, ConversationStatus
from tests.widget.conftest import bearer, conversation_row, error_code, start


@pytest.fixture
def articles(db, clock):
    with db.session() as session:
        service = ArticleService(session, clock)
        ids = {
            "reset": service.create("Reset your password", "Open **Settings** and choose *Reset password*.\n\n"
                                    "<script>alert(1)</script> [bad](javascript:alert(1)) [good](https://x.test)",
                                    "en", published=True).id,
            "billing": service.create("Change your billing address", "Invoices use the billing address.", "en",
                                      published=True).id,
            "de": service.create("Passwort zurücksetzen", "Öffnen Sie die Einstellungen, Passwort vergessen.", "de",
                                 published=True).id,
            "draft": service.create("Password draft", "password", "en").id,
        }
    return ids


def test_search_is_public_and_answers_best_first(client, articles):
    response = client.get("/api/v1/articles/search", params={"q": "forgot my password", "lang": "en"})
    assert response.status_code == 200, response.text
    found = response.json()["articles"]
    assert [a["title"] for a in found] == ["Reset your password"]
    assert set(found[0]) == {"id", "title", "snippet", "url", "language"}
    assert found[0]["url"] == "http://widget.test/help/en/reset-your-password"
    assert found[0]["language"] == "en" and "Settings" in found[0]["snippet"]
    german = client.get("/api/v1/articles/search", params={"q": "Passwort", "lang": "de"}).json()["articles"]
    assert [a["title"] for a in german] == ["Passwort zurücksetzen"]


def test_search_uses_the_public_url_and_refuses_oversized_queries(make_client, widget_config, articles):
    widget_config.widget.public_url = "https://support.example.com/"
    client = make_client()
    found = client.get("/api/v1/articles/search", params={"q": "password", "lang": "en"}).json()["articles"]
    assert found[0]["url"] == "https://support.example.com/help/en/reset-your-password"
    response = client.get("/api/v1/articles/search", params={"q": "x" * 501})
    assert response.status_code == 400 and error_code(response) == "invalid_input"
    assert client.get("/api/v1/articles/search", params={"q": "a\x00b", "lang": "\x00"}).status_code == 200


def test_search_is_rate_limited_per_address(make_client, widget_config, monotonic, articles):
    widget_config.widget.rate_limit_per_minute_per_address = 2
    client = make_client()
    for _ in range(2):
        assert client.get("/api/v1/articles/search", params={"q": "password"}).status_code == 200
    refused = client.get("/api/v1/articles/search", params={"q": "password"})
    assert refused.status_code == 429 and error_code(refused) == "rate_limited"


def test_article_page_renders_markdown_safely_without_script(client, articles):
    response = client.get("/help/en/reset-your-password")
    assert response.status_code == 200
    page = response.text
    assert "<strong>Settings</strong>" in page and "<em>Reset password</em>" in page
    assert "<script" not in page and "&lt;script&gt;" in page
    assert 'href="javascript:' not in page and 'href="https://x.test"' in page
    assert '<html lang="en"' in page
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "object-src 'none'" in policy


def test_article_page_is_localized_and_drafts_are_missing(client, articles):
    german = client.get("/help/de/passwort-zurucksetzen")
    assert german.status_code == 200 and '<html lang="de"' in german.text
    assert "Passwort zurücksetzen" in german.text
    assert client.get("/help/en/password-draft").status_code == 404
    assert client.get("/help/en/Not%20a%20slug").status_code == 404
    assert client.get("/help/xx-%00/reset").status_code == 404


def test_suggestions_when_nobody_is_online_then_yes_solves_as_self_served(client, db, articles):
    data = start(client)
    token, public_id = data["token"], data["conversation"]["id"]
    client.post(f"/api/v1/conversations/{public_id}/messages", json={"body": "I forgot my password"},
                headers=bearer(token))
    shown = client.get(f"/api/v1/conversations/{public_id}/suggestions?lang=en", headers=bearer(token)).json()
    assert shown["show"] is True and [a["id"] for a in shown["articles"]] == [articles["reset"]]
    read = client.post(f"/api/v1/conversations/{public_id}/articles/{articles['reset']}/read", headers=bearer(token))
    assert read.status_code == 200 and read.json()["path"] == "/help/en/reset-your-password"
    solved = client.post(f"/api/v1/conversations/{public_id}/self-served", json={"article_id": articles["reset"]},
                         headers=bearer(token))
    assert solved.status_code == 200 and solved.json()["conversation"]["status"] == "solved"
    assert conversation_row(db, public_id).status is ConversationStatus.solved
    with db.read_session() as session:
        assert self_served_count(session) == 1
        shown_rows = ArticleService(session, None).articles_in_conversation(conversation_row(db, public_id).id)
    assert shown_rows == [{"article_id": articles["reset"], "title": "Reset your password", "read": True}]
    again = client.post(f"/api/v1/conversations/{public_id}/self-served", json={}, headers=bearer(token))
    assert again.status_code == 409 and error_code(again) == "invalid_transition"


def test_no_suggestions_while_an_agent_is_online_and_the_wait_is_short(client, db, clock, articles):
    with db.session() as session:
        agents = AgentService(session, clock)
        agents.set_status(agents.add("ana", "Ana").id, AgentStatus.online)
    data = start(client)
    token, public_id = data["token"], data["conversation"]["id"]
    client.post(f"/api/v1/conversations/{public_id}/messages", json={"body": "password"}, headers=bearer(token))
    shown = client.get(f"/api/v1/conversations/{public_id}/suggestions", headers=bearer(token)).json()
    assert shown == {"show": False, "articles": []}


def test_other_peoples_conversations_and_drafts_are_refused(client, articles):
    mine, theirs = start(client), start(client)
    token = mine["token"]
    other = theirs["conversation"]["id"]
    assert client.get(f"/api/v1/conversations/{other}/suggestions", headers=bearer(token)).status_code == 404
    assert client.post(f"/api/v1/conversations/{other}/self-served", json={},
                       headers=bearer(token)).status_code == 404
    own = mine["conversation"]["id"]
    draft = client.post(f"/api/v1/conversations/{own}/articles/{articles['draft']}/read", headers=bearer(token))
    assert draft.status_code == 404
    assert client.get(f"/api/v1/conversations/{own}/suggestions").status_code == 401


def test_the_articles_script_is_served_apart_and_inserts_text_only(client):
    js, css = client.get("/widget/threadline-articles.js"), client.get("/widget/threadline-articles.css")
    assert js.status_code == 200 and css.status_code == 200
    assert "innerHTML" not in js.text and "insertAdjacentHTML" not in js.text and "eval(" not in js.text
    assert "window.ThreadlineArticles" in js.text

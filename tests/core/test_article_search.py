"""Article search on the real database (SQLite FTS5, or PostgreSQL full-text search): known articles in English and
German, ranked best first, drafts and other languages left out, the index kept in step with edits."""
from __future__ import annotations

import pytest

from core.article_search import ArticleSearch, plain_snippet, query_words
from core.articles import ArticleService, self_served_count, slug_from_title
from core.conversations import ConversationService
from core.errors import InvalidInput, InvalidTransition
from core.models import ConversationStatus

ENGLISH = [
    ("Reset your password", "If you forgot your password, open **Settings** and choose *Reset password*. "
                            "We email you a link that works for one hour."),
    ("Change your billing address", "Invoices use the billing address from the account page. Change it "
                                    "before the next invoice is made."),
    ("Export your data", "You can export every invoice and every message as a ZIP file from the account page."),
    ("Two-factor sign-in", "Protect your account with a second factor. If you lose the phone, a password reset "
                           "does not remove the second factor; write to us."),
]
GERMAN = [
    ("Passwort zurücksetzen", "Wenn Sie Ihr Passwort vergessen haben, öffnen Sie die Einstellungen und wählen Sie "
                              "Passwort zurücksetzen."),
    ("Rechnungsadresse ändern", "Rechnungen verwenden die Rechnungsadresse Ihres Kontos."),
]


@pytest.fixture
def articles(db, clock):
    with db.session() as session:
        service = ArticleService(session, clock)
        ids = {}
        for title, body in ENGLISH:
            ids[title] = service.create(title, body, "en", published=True).id
        for title, body in GERMAN:
            ids[title] = service.create(title, body, "de", published=True).id
        ids["draft"] = service.create("Password policy draft", "password password password", "en").id
    return ids


def titles(db, query, language, limit=3):
    with db.read_session() as session:
        return [hit.title for hit in ArticleSearch(session).search(query, language, limit)]


def test_best_match_first_in_english(db, articles):
    found = titles(db, "How do I reset my password?", "en")
    assert found[0] == "Reset your password"
    assert "Two-factor sign-in" in found  # mentions a password reset too, but lower
    assert found.index("Two-factor sign-in") > 0


def test_stemming_finds_other_forms(db, articles):
    assert titles(db, "passwords", "en")[0] == "Reset your password"
    assert titles(db, "invoices billing", "en")[0] == "Change your billing address"


def test_german_articles_for_german_searches_only(db, articles):
    assert titles(db, "Passwort vergessen", "de") == ["Passwort zurücksetzen"]
    assert titles(db, "Rechnungsadresse", "de-AT") == ["Rechnungsadresse ändern"]  # de-AT finds de
    assert "Passwort zurücksetzen" not in titles(db, "Passwort", "en")


def test_drafts_are_never_found(db, articles, clock):
    assert "Password policy draft" not in titles(db, "password policy", "en", limit=10)
    with db.session() as session:
        ArticleService(session, clock).set_published(articles["draft"], True)
    assert "Password policy draft" in titles(db, "password policy", "en", limit=10)


def test_edits_reach_the_index(db, articles, clock):
    with db.session() as session:
        ArticleService(session, clock).update(articles["Export your data"], title="Download an archive",
                                              body="Download everything as one archive.")
    assert titles(db, "archive", "en") == ["Download an archive"]
    assert titles(db, "ZIP", "en") == []


def test_snippet_is_plain_text_from_the_body(db, articles):
    with db.read_session() as session:
        hit = ArticleSearch(session).search("forgot password", "en")[0]
    assert "forgot" in hit.snippet and "**" not in hit.snippet
    assert hit.slug == "reset-your-password" and hit.language == "en"


def test_query_syntax_cannot_be_injected(db, articles):
    for hostile in ('"', "NEAR(", "title:password", "a & | ! b", "*", "')--", ""):
        titles(db, hostile, "en")  # no error from either database's query parser
    assert query_words('pass"word OR title:x') == ["pass", "word", "or", "title", "x"]


def test_limit_caps_results(db, articles):
    assert len(titles(db, "password account invoice address", "en", limit=2)) == 2


def test_plain_snippet_drops_markdown():
    assert plain_snippet("See [the guide](https://x.test) and **bold**\n# Head") == "See the guide and bold Head"


def test_slugs(db, clock):
    assert slug_from_title("Réinitialiser le mot de passe !") == "reinitialiser-le-mot-de-passe"
    with db.session() as session:
        service = ArticleService(session, clock)
        first = service.create("ログイン", "本文", "ja")
        assert first.slug == "article"
        with pytest.raises(InvalidInput):
            service.create("Another", "", "ja", slug="article")
        with pytest.raises(InvalidInput):
            service.create("Bad slug", "", "en", slug="Not A Slug")


def test_self_service_solves_a_queued_conversation_and_is_counted(db, clock, articles):
    with db.session() as session:
        conversations = ConversationService(session, clock)
        conversation = conversations.start_conversation(conversations.create_end_user("Eve").id)
        conversations.post_end_user_message(conversation.id, "reset password?")
        service = ArticleService(session, clock)
        service.record_suggested(conversation.id, [articles["Reset your password"], articles["Two-factor sign-in"]])
        service.record_read(conversation.id, articles["Reset your password"])
        service.solve_by_end_user(conversations.get(conversation.id), articles["Reset your password"])
        assert conversations.get(conversation.id).status is ConversationStatus.solved
        assert self_served_count(session) == 1
        shown = service.articles_in_conversation(conversation.id)
        assert [(row["title"], row["read"]) for row in shown] == [("Reset your password", True),
                                                                   ("Two-factor sign-in", False)]
        with pytest.raises(InvalidTransition):  # already solved
            service.solve_by_end_user(conversations.get(conversation.id), None)
        assert self_served_count(session) == 1


def test_create_all_builds_the_search_index_too(database_url, clock):
    from sqlmodel import SQLModel

    import core.tables  # noqa: F401 - every table on the metadata
    from core.db import Database

    database = Database(database_url)
    try:
        SQLModel.metadata.create_all(database.engine)
        with database.session() as session:
            ArticleService(session, clock).create("Reset your password", "Open Settings.", "en", published=True)
        assert titles(database, "password", "en") == ["Reset your password"]
    finally:
        database.dispose()

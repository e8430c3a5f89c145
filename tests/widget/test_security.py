"""Hardening of the widget server: origin allowlist and CORS, CSP on pages, rate limits, JSON errors, static files."""
from __future__ import annotations

import pytest

from core.i18n import N_
from tests.widget.conftest import bearer, error_code, start
from widget.errors import ERROR_CODES
from widget.ratelimit import RateLimiter
from widget.strings import WIDGET_STRINGS, accepted_languages


def test_pages_carry_a_strict_content_security_policy(client):
    for path in ("/", "/return/some-token", "/conversation"):
        response = client.get(path)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "object-src 'none'" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'self' https://shop.example" in policy
        assert response.headers["x-content-type-options"] == "nosniff"
        # The return link's token never leaves for other sites, and the page's own posts carry its real origin.
        assert response.headers["referrer-policy"] == "same-origin"
        assert "<script>" not in response.text  # no inline script: the CSP would block it


def test_the_widget_script_and_styles_are_served_and_small(client):
    js, css = client.get("/widget/threadline.js"), client.get("/widget/threadline.css")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    # Uncompressed, as served (about a third of this over the wire). 80 KB since issues 18, 19 and 21: built-in
    # English, unread badge, on-screen keyboard, typing indicator, satisfaction question, attachments (upload, paste,
    # drop, thumbnails); still unminified and one request (help-center articles load their own script on first use).
    assert len(js.content) + len(css.content) < 80 * 1024
    assert "innerHTML" not in js.text and "insertAdjacentHTML" not in js.text and "eval(" not in js.text


def test_allowed_origins_get_cors_headers_and_preflights(client):
    response = client.get("/api/v1/availability", headers={"Origin": "https://shop.example"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://shop.example"
    preflight = client.options("/api/v1/conversations", headers={
        "Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.status_code == 204
    assert "Authorization" in preflight.headers["access-control-allow-headers"]
    same_origin = client.get("/api/v1/availability", headers={"Origin": "http://widget.test"})
    assert same_origin.status_code == 200 and "access-control-allow-origin" not in same_origin.headers


def test_foreign_origins_are_refused_and_change_nothing(client, db):
    for origin in ("https://evil.example", "null", "https://shop.example.evil.example"):
        response = client.post("/api/v1/conversations", json={}, headers={"Origin": origin})
        assert response.status_code == 403 and error_code(response) == "origin_not_allowed", origin
    preflight = client.options("/api/v1/conversations", headers={"Origin": "https://evil.example",
                                                                 "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 403
    from sqlmodel import func, select

    from core.models import Conversation
    with db.read_session() as session:
        assert session.exec(select(func.count()).select_from(Conversation)).one() == 0


def test_a_refused_page_navigation_reads_as_text_not_json(client):
    response = client.post("/api/v1/conversations", content=b"", headers={"Origin": "https://evil.example",
                                                                         "Accept": "text/html,*/*;q=0.8"})
    assert response.status_code == 403 and response.headers["content-type"].startswith("text/html")
    assert "widget.allowed_origins" in response.text and '"error"' not in response.text


def test_an_allowlist_star_admits_any_origin(make_client, widget_config):
    widget_config.widget.allowed_origins = ["*"]
    client = make_client()
    response = client.get("/api/v1/availability", headers={"Origin": "https://anyone.example"})
    assert response.status_code == 200 and response.headers["access-control-allow-origin"] == "https://anyone.example"


def test_requests_per_token_are_limited(make_client, widget_config, monotonic, clock):
    widget_config.widget.rate_limit_per_minute = 3
    client = make_client()
    data = start(client)  # no token yet: counts against the address only
    url = "/api/v1/me"
    for _ in range(3):
        assert client.get(url, headers=bearer(data["token"])).status_code == 200
    limited = client.get(url, headers=bearer(data["token"]))
    assert limited.status_code == 429 and error_code(limited) == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    assert start(client)  # another end user (new token) is not held back by this one
    monotonic.now += 20  # one request's worth refills, in this process's buckets and the database's
    clock.advance(20)
    assert client.get(url, headers=bearer(data["token"])).status_code == 200


def test_requests_per_address_are_limited(make_client, widget_config):
    widget_config.widget.rate_limit_per_minute_per_address = 2
    client = make_client()
    assert client.get("/api/v1/availability").status_code == 200
    assert client.get("/widget/strings").status_code == 200
    response = client.post("/api/v1/conversations", json={})
    assert response.status_code == 429 and error_code(response) == "rate_limited"


def test_unknown_addresses_and_methods_answer_with_json_errors(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and error_code(response) == "not_found"
    response = client.delete("/api/v1/conversations")
    assert response.status_code == 405 and error_code(response) == "method_not_allowed"


def test_error_codes_are_stable_and_match_their_status():
    assert ERROR_CODES["message_too_large"] == 413 and ERROR_CODES["rate_limited"] == 429
    assert ERROR_CODES["origin_not_allowed"] == 403 and ERROR_CODES["invalid_email"] == 422


def test_the_rate_limiter_refills_evenly():
    now = [0.0]
    limiter = RateLimiter(60, lambda: now[0])
    assert all(limiter.hit("k") == 0.0 for _ in range(60))
    wait = limiter.hit("k")
    assert 0.9 <= wait <= 1.0
    now[0] += 1.0
    assert limiter.hit("k") == 0.0 and limiter.hit("other") == 0.0


def test_widget_strings_are_served_for_the_negotiated_language(client):
    response = client.get("/widget/strings?lang=zz&lang=en-GB")
    assert response.status_code == 200
    body = response.json()
    assert body["language"] == "en" and set(body["strings"]) == set(WIDGET_STRINGS)
    assert body["strings"]["send"] == N_("Send")
    assert accepted_languages("de-CH, fr;q=0.4, en;q=0.8, *;q=0.1") == ["de-CH", "en", "fr"]


def test_availability_says_whether_the_team_is_online(client, db, clock):
    from core.agents import AgentService

    offline = client.get("/api/v1/availability").json()
    assert offline["team_online"] is False and offline["agents_online"] == 0 and offline["text"]
    with db.session() as session:
        agents = AgentService(session, clock)
        agents.set_status(agents.add("ana", "Ana").id, "online")
    online = client.get("/api/v1/availability?lang=en").json()
    assert online["team_online"] is True and online["agents_online"] == 1 and online["text"] != offline["text"]


def test_guessing_tokens_is_throttled_per_address(make_client, widget_config):
    widget_config.widget.rate_limit_per_minute_per_address = 3
    client = make_client()
    codes = [client.get("/api/v1/me", headers=bearer(f"{n}-guess")).status_code for n in range(5)]
    assert codes == [401, 401, 401, 429, 429]


def test_an_unexpected_failure_answers_internal_error_without_details(client, monkeypatch):
    data = start(client)

    def broken(end_user_id):
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(client.app.state.desk, "profile", broken)
    response = client.get("/api/v1/me", headers=bearer(data["token"]))
    assert response.status_code == 500 and error_code(response) == "internal_error"
    assert "hunter2" not in response.text


@pytest.fixture
def german_catalog(tmp_path, monkeypatch):
    """A compiled German catalog holding two widget strings, installed as the only catalog for one test."""
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    from core import i18n

    catalog = Catalog(locale="de", domain="threadline")
    catalog.add("Send", "Senden")
    catalog.add(("We are online. Expected wait: about {count} minute.",
                 "We are online. Expected wait: about {count} minutes."),
                ("Online. Wartezeit: etwa {count} Minute.", "Online. Wartezeit: etwa {count} Minuten."))
    folder = tmp_path / "locale" / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with open(folder / "threadline.mo", "wb") as handle:
        write_mo(handle, catalog)
    monkeypatch.setenv("THREADLINE_LOCALE_DIR", str(tmp_path / "locale"))
    i18n.available_languages.cache_clear()
    i18n.translations.cache_clear()
    yield
    monkeypatch.delenv("THREADLINE_LOCALE_DIR")
    i18n.available_languages.cache_clear()
    i18n.translations.cache_clear()


def test_widget_words_and_the_wait_come_from_the_end_users_catalog(german_catalog, client):
    from widget.strings import availability_text

    response = client.get("/widget/strings?lang=de-AT")
    assert response.json()["language"] == "de"
    strings = response.json()["strings"]
    assert strings["send"] == "Senden" and strings["close"] == "Close"  # untranslated ones fall back to English
    assert availability_text("de", True, 180) == "Online. Wartezeit: etwa 3 Minuten."
    assert availability_text("en", True, 60) == "We are online. Expected wait: about 1 minute."

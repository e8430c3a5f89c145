"""The end user's identity through the API: email form, identify() signatures, language, return links."""
from __future__ import annotations

from datetime import timedelta

from core.end_users import EndUserService
from core.identity import IdentityClaim, identify_signature, return_link_url, widget_secret
from core.models import EndUser
from tests.widget.conftest import bearer, conversation_row, error_code, identity, start


def _end_user(db, data) -> EndUser:
    with db.read_session() as session:
        return session.get(EndUser, conversation_row(db, data["conversation"]["id"]).end_user_id)


def test_an_internationalized_email_is_stored_normalized_and_unverified(client, db):
    data = start(client)
    response = client.post("/api/v1/me/email", json={"email": "jörg@BÜCHER.example"}, headers=bearer(data["token"]))
    assert response.status_code == 200, response.text
    assert response.json()["end_user"]["email"] == "jörg@bücher.example"
    stored = _end_user(db, data)
    assert stored.email == "jörg@bücher.example" and not stored.email_verified


def test_an_invalid_email_gets_the_validation_error_and_changes_nothing(client, db):
    data = start(client, email="first@example.com")
    for bad in ("jörg@", "no-at-sign", "", "   ", None, 7):
        response = client.post("/api/v1/me/email", json={"email": bad}, headers=bearer(data["token"]))
        assert response.status_code == 422 and error_code(response) == "invalid_email", bad
    assert "jörg@" in client.post("/api/v1/me/email", json={"email": "jörg@"},
                                  headers=bearer(data["token"])).json()["error"]["message"]
    assert _end_user(db, data).email == "first@example.com"


def test_an_address_of_a_blocked_end_user_is_refused(client, db, clock):
    blocked = start(client, email="spammer@example.com")
    with db.session() as session:
        EndUserService(session, clock).block(_end_user(db, blocked).id)
    data = start(client)
    response = client.post("/api/v1/me/email", json={"email": "spammer@EXAMPLE.com"}, headers=bearer(data["token"]))
    assert response.status_code == 403 and error_code(response) == "blocked"
    assert _end_user(db, data).email is None


def test_identify_with_a_good_signature_verifies_the_email(client, db, clock, widget_config):
    data = start(client)
    body = identity(widget_config, clock, "ada@example.com", name="Ada")
    response = client.post("/api/v1/me/identify", json=body, headers=bearer(data["token"]))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["end_user"] == {"name": "Ada", "email": "ada@example.com", "email_verified": True, "language": None}
    assert answer["switched"] is False
    assert _end_user(db, data).email_verified and _end_user(db, data).external_id == "user-1"


def test_identify_with_a_bad_or_missing_signature_is_refused_and_changes_nothing(client, db, clock, widget_config):
    data = start(client)
    good = identity(widget_config, clock, "eve@example.com")
    for body in ({**good, "email": "ada@example.com"},
                 {**good, "user_id": "user-2"},
                 {**good, "expires_at": good["expires_at"] + 3600},
                 {**good, "signature": "00" * 32},
                 {"email": "ada@example.com", "signature": good["signature"]},
                 {k: v for k, v in good.items() if k != "signature"}):
        response = client.post("/api/v1/me/identify", json=body, headers=bearer(data["token"]))
        assert response.status_code == 403 and error_code(response) == "invalid_signature", body
    stored = _end_user(db, data)
    assert stored.email is None and not stored.email_verified and stored.external_id is None


def test_a_signed_identity_given_at_start_is_verified_and_a_forged_one_creates_nothing(
    client, db, clock, widget_config
):
    data = start(client, **identity(widget_config, clock, "ada@example.com"))
    assert data["end_user"]["email_verified"] is True
    forged = {**identity(widget_config, clock, "eve@example.com"), "signature": "ab" * 32}
    response = client.post("/api/v1/conversations", json=forged)
    assert response.status_code == 403 and error_code(response) == "invalid_signature"


def test_the_widget_secret_is_derived_from_the_token_secret_unless_configured(clock):
    derived = widget_secret("", "token-secret-0123456789")
    assert derived != b"token-secret-0123456789" and derived == widget_secret("", b"token-secret-0123456789")
    assert widget_secret("configured-secret", "token-secret-0123456789") == b"configured-secret"
    expires = int(clock.now().timestamp()) + 60
    good = identify_signature(derived, "u1", "ada@example.com", expires)
    IdentityClaim("u1", "ada@example.com", expires, good.upper()).check(derived, clock.now())
    assert good != identify_signature(derived, "u2", "ada@example.com", expires)
    assert good != identify_signature(derived, "u1", "ada@example.com", expires + 1)


def test_language_becomes_the_profile_language_unless_an_agent_set_one(client, db, clock):
    data = start(client, language="fr-CA")
    assert _end_user(db, data).language == "fr_CA"
    response = client.put("/api/v1/me/language", json={"language": "de"}, headers=bearer(data["token"]))
    assert response.status_code == 200 and response.json()["end_user"]["language"] == "de"
    with db.session() as session:
        EndUserService(session, clock).set_language(_end_user(db, data).id, "es", by_agent=True)
    response = client.put("/api/v1/me/language", json={"language": "it"}, headers=bearer(data["token"]))
    assert response.status_code == 200 and response.json()["end_user"]["language"] == "es"


def test_a_bad_language_tag_is_refused(client):
    data = start(client)
    for bad in ("", "not a tag!", 5):
        response = client.put("/api/v1/me/language", json={"language": bad}, headers=bearer(data["token"]))
        assert response.status_code == 400 and error_code(response) == "invalid_input", bad


def test_me_returns_the_profile(client):
    data = start(client, name="Ada")
    response = client.get("/api/v1/me", headers=bearer(data["token"]))
    assert response.status_code == 200 and response.json()["end_user"]["name"] == "Ada"


def test_a_return_link_opens_the_same_conversation_with_a_fresh_token(client, db, clock, signer, widget_config):
    data = start(client)
    row = conversation_row(db, data["conversation"]["id"])
    token = client.app.state.desk.return_link_token(row.id)
    assert return_link_url("https://support.example/", token) == f"https://support.example/return/{token}"
    response = client.post("/api/v1/return", json={"token": token})
    assert response.status_code == 200, response.text
    resumed = response.json()
    assert resumed["conversation"]["id"] == data["conversation"]["id"]
    assert signer.verify_end_user_token(resumed["token"]).end_user_id == row.end_user_id
    posted = client.post(f"/api/v1/conversations/{row.public_id}/messages", json={"body": "back again"},
                         headers=bearer(resumed["token"]))
    assert posted.status_code == 201
    response = client.post("/api/v1/return", json={"token": token})  # each link opens the conversation once
    assert response.status_code == 410 and error_code(response) == "return_link_used"
    token = client.app.state.desk.return_link_token(row.id)
    clock.advance(timedelta(days=widget_config.widget.return_link_days, seconds=1))
    response = client.post("/api/v1/return", json={"token": token})
    assert response.status_code == 410 and error_code(response) == "return_link_expired"


def test_forged_or_missing_return_links_are_refused(client, db, signer, clock):
    data = start(client)
    row = conversation_row(db, data["conversation"]["id"])
    end_user_token = signer.end_user_token(
        row.end_user_id, clock.now()
    )  # another kind of token never passes for a return link
    for body in ({"token": end_user_token}, {"token": "abc-def-ghi"}, {}, {"token": ""}):
        response = client.post("/api/v1/return", json=body)
        assert response.status_code == 401 and error_code(response) == "invalid_return_link", body
    orphan = signer.return_link_token(row.id + 1000, clock.now() + timedelta(days=1))
    response = client.post("/api/v1/return", json={"token": orphan})
    assert response.status_code == 401 and error_code(response) == "invalid_return_link"

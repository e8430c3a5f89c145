"""Configuration loading (TOML then environment) and signed tokens."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.config import load_config
from core.errors import ConfigError
from core.tokens import InvalidToken, TokenSigner


def test_toml_then_environment(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text('[smtp]\nhost = "mail.example.com"\nport = 587\ntls = "starttls"\n[widget]\nallowed_origins = ["https://a.example"]\n')
    config = load_config(
        path,
        environ={
            "THREADLINE_SMTP_PORT": "2525",
            "THREADLINE_WIDGET_ALLOWED_ORIGINS": "https://b.example, https://c.example",
            "THREADLINE_GENERAL_DATA_DIR": str(tmp_path),
        },
    )
    assert (config.smtp.host, config.smtp.port, config.smtp.tls) == ("mail.example.com", 2525, "starttls")
    assert config.widget.allowed_origins == ["https://b.example", "https://c.example"]
    assert config.database_url == f"sqlite:///{tmp_path / 'threadline.db'}"
    assert config.source == str(path)


@pytest.mark.parametrize("text, message", [
    ("[smtp]\nport = 'x'\n", "expected a int"),
    ("[smtp]\nhostname = 'x'\n", "unknown key smtp.hostname"),
    ("[nope]\na = 1\n", "unknown section \\[nope\\]"),
    ("[smtp\n", "not valid TOML"),
    ("[smtp]\ntls = 'ssl'\n", "none, starttls or tls"),
])
def test_bad_config_names_the_key(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path, environ={})


def test_missing_explicit_config_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml", environ={})


def test_secret_is_created_once_and_masked(tmp_path):
    config = load_config(None, environ={"THREADLINE_GENERAL_DATA_DIR": str(tmp_path), "THREADLINE_CONFIG": ""})
    first = config.secret()
    assert len(first) >= 32 and config.secret() == first
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    config.smtp.password = "hunter2"
    assert config.as_dict()["smtp"]["password"] == "****"


def test_tokens_round_trip_and_resist_tampering():
    signer = TokenSigner("s" * 32)
    token = signer.reply_token(42)
    assert token == token.lower() and set(token) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
    assert signer.verify_reply_token(token) == 42
    assert signer.verify_reply_token(token.upper()) == 42  # mail servers may change case
    with pytest.raises(InvalidToken):
        signer.verify_end_user_token(token)  # another purpose
    with pytest.raises(InvalidToken):
        TokenSigner("t" * 32).verify_reply_token(token)
    forged = "43" + token[token.index("-"):]
    with pytest.raises(InvalidToken):
        signer.verify_reply_token(forged)
    with pytest.raises(InvalidToken):
        signer.verify_reply_token("garbage")


def test_end_user_tokens_carry_when_they_were_issued():
    signer = TokenSigner("s" * 32)
    issued = datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC)
    claim = signer.verify_end_user_token(signer.end_user_token(9, issued))
    assert (claim.end_user_id, claim.issued_at) == (9, issued)
    with pytest.raises(InvalidToken):  # the old form without an issue time opens nothing
        signer.verify_end_user_token(signer.sign("end-user", 9))


def test_return_link_expires():
    signer = TokenSigner("s" * 32)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    token = signer.return_link_token(7, now + timedelta(days=1))
    assert signer.verify_return_link_token(token, now) == (7, now + timedelta(days=1))
    with pytest.raises(InvalidToken, match="expired"):
        signer.verify_return_link_token(token, now + timedelta(days=2))

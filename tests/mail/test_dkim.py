"""DKIM: notifications signed with the configured key verify (every language, and as received over SMTP), a changed
email does not, and `threadline dkim generate` writes a private key and prints the record that verifies it."""
from __future__ import annotations

import re
import stat
from pathlib import Path

import dkim
import pytest

from core.config import Config
from core.errors import ConfigError
from core.models import OutboxJob
from core.settings import SettingsService
from mail.compose import outgoing
from mail.dkim_signing import DkimSigner, dkim_record, generate_private_key
from mail.notification_content import NotificationGatherer
from mail.sender import OutboxSender
from tests.core.test_cli_and_schema import run_cli
from tests.fixtures.smtp import mail_config

SHIPPED = ["en", "de", "fr", "es", "pt_BR", "ja", "pl", "ar"]
BRAND = "Ünïcødé Süppört Ğmbh 日本語サポート"


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dkim") / "s2026.pem"
    generate_private_key(path)
    return path


def dns_for(records: dict[str, str]):
    """dkimpy's dnsfunc hook: TXT lookups answered from records, no DNS at all."""
    def lookup(name: bytes | str, timeout: int = 5) -> bytes | None:
        key = (name.decode() if isinstance(name, bytes) else name).rstrip(".").lower()
        value = records.get(key)
        return value.encode("ascii") if value is not None else None
    return lookup


def _dns(key_file: Path, domain: str = "example.com") -> object:
    return dns_for({f"s2026._domainkey.{domain}": dkim_record(key_file.read_bytes())})


def _config(key_file: Path, port: int = 25, **mail: object) -> Config:
    return mail_config(port, dkim_selector="s2026", dkim_private_key_file=str(key_file), **mail)


def _signed_tags(data: bytes) -> dict[str, str]:
    header = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    value = re.search(r"^DKIM-Signature:(.*?)(?=^\S)", header + "\r\nX: y", re.S | re.M).group(1)  # type: ignore[union-attr]
    tags = [part.strip() for part in "".join(value.split()).split(";") if part.strip()]
    return dict(tag.split("=", 1) for tag in tags)


@pytest.mark.parametrize("language", SHIPPED)
def test_signed_notifications_verify_in_every_language(world, key_file, language):
    with world.db.session() as session:
        SettingsService(session, world.clock).update(brand_name=BRAND)
    conversation_id = world.conversation(language=language.replace("_", "-"), name="Zoë 山田",
                                         earlier=[("agent", "First"), ("user", "Answer")])
    job_id = world.notify(conversation_id, ["From now on:\n.\nbye"])
    signer = DkimSigner.from_config(_config(key_file).mail)
    assert signer is not None
    with world.db.read_session() as session:
        content = NotificationGatherer(session, mail_config(25), world.signer, world.clock.now()).gather(
            session.get(OutboxJob, job_id))
    content.references = ["<tl.x.1@example.com>"]  # so In-Reply-To and References are signed too
    data = signer.sign_email(outgoing(content, world.clock.now())).data
    assert dkim.verify(data, dnsfunc=_dns(key_file))
    tags = _signed_tags(data)
    assert tags["c"] == "relaxed/relaxed" and tags["d"] == "example.com" and tags["s"] == "s2026"
    assert tags["h"].lower().split(":") == ["from", "to", "subject", "date", "message-id", "reply-to",
                                            "in-reply-to", "references", "list-unsubscribe", "list-unsubscribe-post",
                                            "mime-version", "content-type"]
    tampered = data.replace(b"Subject: ", b"Subject: Re: ", 1)
    assert not dkim.verify(tampered, dnsfunc=_dns(key_file))


def test_the_signing_domain_can_differ_from_the_support_address(world, key_file):
    signer = DkimSigner.from_config(_config(key_file, dkim_domain="mail.example.net").mail)
    assert signer is not None
    data = signer.sign(b"From: a@example.com\r\nTo: b@example.org\r\nSubject: x\r\n\r\nhi\r\n", "a@example.com")
    assert _signed_tags(data)["d"] == "mail.example.net"
    assert dkim.verify(data, dnsfunc=_dns(key_file, "mail.example.net"))
    assert not dkim.verify(data, dnsfunc=_dns(key_file))  # no record for the other domain


def test_a_half_or_broken_setting_stops_start_up(tmp_path, key_file):
    with pytest.raises(ConfigError, match="dkim_private_key_file"):
        DkimSigner.from_config(mail_config(25, dkim_selector="s1").mail)
    with pytest.raises(ConfigError, match="cannot be read"):
        DkimSigner.from_config(_config(tmp_path / "missing.pem").mail)
    (tmp_path / "bad.pem").write_text("not a key")
    with pytest.raises(ConfigError, match="not an RSA private key"):
        DkimSigner.from_config(_config(tmp_path / "bad.pem").mail)
    assert DkimSigner.from_config(mail_config(25).mail) is None


async def test_the_bytes_the_smtp_server_receives_verify(world, key_file, smtp_server):
    world.notify(world.conversation(), ["Your order shipped."])
    sender = OutboxSender(world.db, _config(key_file, smtp_server.port), world.signer, world.clock,
                          worker_id="t", rng=lambda: 0.5)
    assert await sender.run_once() == 1
    await sender.pool.close()
    [received] = smtp_server.received
    assert received.data.startswith(b"DKIM-Signature: ")
    assert dkim.verify(received.data, dnsfunc=_dns(key_file))


def test_dkim_generate_writes_a_private_key_and_prints_the_record(tmp_path):
    result = run_cli("dkim", "generate", "--selector", "s2026", "--domain", "example.com", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    key = tmp_path / "dkim" / "s2026.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    line = next(line for line in result.stdout.splitlines() if "IN TXT" in line)
    assert line.startswith("s2026._domainkey.example.com. IN TXT (")
    strings = re.findall(r'"([^"]*)"', line)
    assert len(strings) == 2 and all(len(part.encode()) <= 255 for part in strings)
    assert "".join(strings) == dkim_record(key.read_bytes())
    signer = DkimSigner("s2026", key.read_bytes())
    data = signer.sign(b"From: a@example.com\r\nSubject: x\r\n\r\nhi\r\n", "a@example.com")
    assert dkim.verify(data, dnsfunc=dns_for({"s2026._domainkey.example.com": "".join(strings)}))
    before = key.read_bytes()
    again = run_cli("dkim", "generate", "--selector", "s2026", "--domain", "example.com", data_dir=tmp_path)
    assert again.returncode == 1 and "exists already" in again.stderr
    assert key.read_bytes() == before

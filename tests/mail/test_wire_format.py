"""The notification on the wire: encoded-words within 75 characters, lines folded at 78, protected quoted-printable,
auto-reply suppression that keeps bounces, one Message-ID form, the configured EHLO name."""
from __future__ import annotations

import email
import email.header
import email.message
import email.policy
import quopri
import re

import pytest

from core.config import Config
from core.models import OutboxJob
from core.outbox import notification_message_id
from core.settings import SettingsService
from mail.compose import email_bytes
from mail.headers import encoded_words, quoted_printable
from mail.notification_content import NotificationGatherer
from mail.reply_threading import token_in_message_id
from mail.sender import OutboxSender
from tests.fixtures.smtp import mail_config

SHIPPED = ["en", "de", "fr", "es", "pt_BR", "ja", "pl", "ar"]
BRAND = "Ünïcødé Süppört Ğmbh 日本語サポート"
ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


def _wire(world, language: str, name: str = "Zoë Ångström-Łukasiewicz 山田太郎") -> bytes:
    with world.db.session() as session:
        SettingsService(session, world.clock).update(brand_name=BRAND)
    job_id = world.notify(world.conversation(language=language.replace("_", "-"), name=name), ["One", "Two"])
    with world.db.read_session() as session:
        job = session.get(OutboxJob, job_id)
        content = NotificationGatherer(session, mail_config(25), world.signer, world.clock.now()).gather(job)
    return email_bytes(content, world.clock.now())


def _header_block(data: bytes) -> str:
    return data.split(b"\r\n\r\n", 1)[0].decode("ascii")


@pytest.mark.parametrize("language", SHIPPED)
def test_headers_with_a_non_ascii_brand_fold_at_78_and_encode_in_short_words(world, language):
    data = _wire(world, language)
    block = _header_block(data)  # ASCII: decoding would fail otherwise
    for line in block.split("\r\n"):
        assert len(line) <= 78, line
    words = ENCODED_WORD.findall(block)
    assert words and all(len(word) <= 75 for word in words), [w for w in words if len(w) > 75]
    message = email.message_from_bytes(data, policy=email.policy.default)
    # Decoded as RFC 2047 says (whitespace between adjacent encoded-words is dropped); Python 3.11's address
    # parser keeps it inside display names, so the raw values are decoded with the legacy API here.
    raw = email.message_from_bytes(data, policy=email.policy.compat32)  # header values as sent
    assert _decoded(raw, "From") == f"{BRAND} <help@example.com>"
    assert _decoded(raw, "Reply-To").startswith(f"{BRAND} <help+")
    assert _decoded(raw, "To") == "Zoë Ångström-Łukasiewicz 山田太郎 <alex@example.org>"
    assert message["From"].addresses[0].addr_spec == "help@example.com"
    assert BRAND in str(message["Subject"])


def _decoded(message: email.message.Message, name: str) -> str:
    raw = "".join(str(message[name]).splitlines())
    return str(email.header.make_header(email.header.decode_header(raw)))


def test_a_long_ascii_subject_folds_at_spaces(world):
    with world.db.session() as session:
        SettingsService(session, world.clock).update(brand_name="The Very Long Brand Name Of A Support Team " * 2)
    job_id = world.notify(world.conversation(), ["x"])
    with world.db.read_session() as session:
        content = NotificationGatherer(session, mail_config(25), world.signer, world.clock.now()).gather(
            session.get(OutboxJob, job_id))
    block = _header_block(email_bytes(content, world.clock.now()))
    assert all(len(line) <= 78 for line in block.split("\r\n"))
    assert "Subject: New reply from The Very Long" in block


def test_encoded_words_never_split_a_character():
    words = encoded_words("日本語" * 40, 60)
    assert len(words[0]) <= 60 and all(len(w) <= 75 for w in words)
    decoded = "".join(email.header.decode_header(w)[0][0].decode("utf-8") for w in words)  # type: ignore[union-attr]
    assert decoded == "日本語" * 40


def test_auto_replies_are_suppressed_but_not_bounces(world):
    message = email.message_from_bytes(_wire(world, "en"), policy=email.policy.default)
    assert message["X-Auto-Response-Suppress"] == "OOF, AutoReply"


@pytest.mark.parametrize("text", [
    "Hi\nFrom here on\n.\nbye\n",
    "From the start\n.hidden\n",
    "x" * 200 + "\n" + "From " + "é" * 80 + "\n." + "y" * 90 + "\n",
])
def test_quoted_printable_protects_from_and_leading_dots(text):
    encoded = quoted_printable(text)
    for line in encoded.split("\r\n"):
        assert len(line) <= 76, line
        assert not line.startswith("From ") and not line.startswith("."), line
    assert quopri.decodestring(encoded.encode("ascii")).decode("utf-8").replace("\r\n", "\n") == text


def test_bodies_on_the_wire_have_no_unprotected_from_or_dot_lines(world):
    job_id = world.notify(world.conversation(), ["From now on we ship daily.\n.\nThat was a dot."])
    with world.db.read_session() as session:
        content = NotificationGatherer(session, mail_config(25), world.signer, world.clock.now()).gather(
            session.get(OutboxJob, job_id))
    data = email_bytes(content, world.clock.now())
    body = data.split(b"\r\n\r\n", 1)[1]
    assert not re.search(rb"(?m)^(From |\.\r?$)", body)
    message = email.message_from_bytes(data, policy=email.policy.default)
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    assert "From now on we ship daily.\n.\nThat was a dot." in text


def test_one_message_id_form_that_threading_reads_back(world):
    token = world.signer.reply_token(7)
    message_id = notification_message_id(token, "example.com")
    local = message_id.strip("<>").rpartition("@")[0]
    assert token_in_message_id(local) == token
    assert world.signer.verify_reply_token(token_in_message_id(local)) == 7
    assert message_id != notification_message_id(token, "example.com")


async def test_ehlo_uses_the_configured_helo_name(world, smtp_server):
    seen: list[str] = []
    keeping = smtp_server.handler

    class Recording:
        async def handle_DATA(self, server, session, envelope):
            seen.append(session.host_name)  # what the client said in EHLO
            return await keeping.handle_DATA(server, session, envelope)

    config: Config = mail_config(smtp_server.port)
    config.smtp.helo_name = "mail.example.com"
    smtp_server.handler = Recording()
    world.notify(world.conversation(), ["x"])
    sender = OutboxSender(world.db, config, world.signer, world.clock, worker_id="t", rng=lambda: 0.5)
    assert await sender.run_once() == 1
    await sender.pool.close()
    assert seen == ["mail.example.com"]
    assert len(smtp_server.received) == 1

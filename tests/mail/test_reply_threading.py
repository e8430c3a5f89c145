"""Threading by headers alone: a cited Message-ID of ours threads even when the outbox no longer holds it."""
from __future__ import annotations

from core.tokens import TokenSigner
from mail.parsing import parse_email
from mail.reply_threading import match_thread, token_in_message_id

SIGNER = TokenSigner("threading-test-secret-0123456789")


def _reply_citing(message_id: str) -> bytes:
    return (
        "From: Alex <alex@example.org>\r\nTo: support@example.com\r\nSubject: Re: your question\r\n"
        f"Message-ID: <reply-1@example.org>\r\nIn-Reply-To: {message_id}\r\nReferences: {message_id}\r\n\r\nThanks!\r\n"
    ).encode()


def test_token_in_message_id_reads_only_our_form():
    token = SIGNER.reply_token(42)
    assert token_in_message_id(f"tl.{token}.a1b2c3") == token
    assert token_in_message_id("reply-1") == ""
    assert token_in_message_id(f"{token}.a1b2c3") == ""


def test_cited_message_id_no_longer_in_the_outbox_still_threads():
    ours = f"<tl.{SIGNER.reply_token(42)}.a1b2c3@example.com>"
    match = match_thread(parse_email(_reply_citing(ours)), SIGNER, "support@example.com", lambda mid: None)
    assert (match.conversation_id, match.via) == (42, "header")


def test_forged_message_id_in_our_domain_does_not_thread():
    forged = f"<tl.{TokenSigner('another-secret-0123456789abcdef').reply_token(42)}.a1b2c3@example.com>"
    match = match_thread(parse_email(_reply_citing(forged)), SIGNER, "support@example.com", lambda mid: None)
    assert match.conversation_id is None

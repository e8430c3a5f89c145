"""Header values and bodies for the wire: RFC 2047 encoded-words of at most 75 characters, lines folded at 78,
and quoted-printable that protects "From " and dots at line start.

Written by hand because Python 3.11's policy folding leaves short non-ASCII headers unencoded (fold) or fails on
them (fold_binary), and email.utils.formataddr makes one encoded-word of any length.
"""
from __future__ import annotations

import base64
import binascii
import email.utils

MAX_LINE = 78  # RFC 5322 section 2.1.1: lines SHOULD be at most 78 characters
MAX_ENCODED_WORD = 75  # RFC 2047 section 2
QP_MAX_LINE = 76  # RFC 2045 section 6.7 (5)


def _encoded_word(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode("utf-8")).decode("ascii") + "?="


def encoded_words(text: str, first_room: int) -> list[str]:
    """text as base64 encoded-words: the first fits in first_room characters, every one in 75; never splits a
    character (RFC 2047 section 5: each encoded-word must hold whole characters)."""
    words: list[str] = []
    room = min(MAX_ENCODED_WORD, first_room)
    chunk = ""
    for character in text:
        if chunk and len(_encoded_word(chunk + character)) > room:
            # Break after a space where there is one: readers that (against RFC 2047) keep the whitespace
            # between encoded-words then show a wider gap rather than a space inside a word.
            cut = chunk.rfind(" ") + 1 or len(chunk)
            words.append(_encoded_word(chunk[:cut]))
            chunk = chunk[cut:]
            room = MAX_ENCODED_WORD
        chunk += character
    if chunk or not words:
        words.append(_encoded_word(chunk))
    return words


def _needs_encoding(text: str) -> bool:
    # An ASCII text that looks like an encoded-word would be decoded by the reader's client.
    return not text.isascii() or "=?" in text


def fold(name: str, tokens: list[str]) -> str:
    """The header value for `name: ` made of whitespace-separated tokens, folded (CRLF + space) so that no line
    passes 78 characters unless one token alone is longer."""
    lines: list[str] = []
    line = f"{name}:"
    for index, token in enumerate(tokens):
        if len(line) + 1 + len(token) <= MAX_LINE or (index == 0 and 1 + len(token) > MAX_LINE):
            line += " " + token  # a first token too long for any line stays beside the name
        else:
            # Folding right after the colon is FWS too, so a long first token starts the next line.
            lines.append(line)
            line = " " + token
    lines.append(line)
    return "\r\n".join(lines)[len(name) + 1:].removeprefix(" ")


def _phrase_tokens(name: str, phrase: str) -> list[str]:
    """The tokens of a free-text header or display name: plain words, or encoded-words when not plain ASCII."""
    if _needs_encoding(phrase):
        return encoded_words(phrase, MAX_LINE - len(name) - 2)
    return phrase.split(" ")


def unstructured(name: str, text: str) -> str:
    """A free-text header value (Subject) on one logical line, encoded and folded for the wire."""
    text = " ".join(text.split())  # one line: no header injection through a subject
    return fold(name, _phrase_tokens(name, text))


def address(name: str, display_name: str | None, addr_spec: str) -> str:
    """An address header value: the display name quoted or encoded as needed, then <addr_spec>, folded.

    A non-ASCII addr_spec stays raw UTF-8, which is only valid under SMTPUTF8 (the sender asks for it then).
    """
    display_name = " ".join((display_name or "").split())
    if not display_name:
        return addr_spec if not addr_spec.isascii() else email.utils.formataddr(("", addr_spec))
    if _needs_encoding(display_name):
        tokens = encoded_words(display_name, MAX_LINE - len(name) - 2)
    else:
        quoted = email.utils.formataddr((display_name, "x@x"))[: -len(" <x@x>")]
        tokens = quoted.split(" ")
    return fold(name, [*tokens, f"<{addr_spec}>"])


def _protect_line(line: str) -> list[str]:
    """One quoted-printable line with a leading "From " or "." encoded (mbox readers rewrite "From ", and a lone dot
    ends an SMTP transfer on relays that lose dot-stuffing), re-split with a soft break if that made it too long."""
    if line.startswith("From "):
        line = "=46" + line[1:]
    elif line.startswith("."):
        line = "=2E" + line[1:]
    else:
        return [line]
    if len(line) <= QP_MAX_LINE:
        return [line]
    cut = QP_MAX_LINE - 3
    # Never cut inside an =XX escape.
    if line[cut - 1] == "=":
        cut -= 1
    elif line[cut - 2] == "=":
        cut -= 2
    return [line[:cut] + "=", *_protect_line(line[cut:])]


def quoted_printable(text: str) -> str:
    """text as UTF-8 quoted-printable with CRLF line ends: 7-bit (no 8BITMIME needed) and still readable."""
    encoded = binascii.b2a_qp(text.replace("\r\n", "\n").encode("utf-8"), istext=True).decode("ascii")
    lines: list[str] = []
    for line in encoded.split("\n"):
        lines += _protect_line(line)
    return "\r\n".join(lines)

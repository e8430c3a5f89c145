"""DKIM: signing outgoing emails with the configured key (dkimpy), making keys and the DNS record that publishes them.

Each send attempt signs the bytes it sends, just before they go out, rather than signing once and storing:
an attempt composes its email afresh (Date, the return link's expiry and the MIME boundary are new), storing
the signed bytes would keep a copy of the messages in the outbox, and a retry after a key rotation must be
signed with the key whose record is published now. Signing costs about a millisecond per email.
"""
from __future__ import annotations

import base64
import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from core.config import MailConfig
from core.errors import ConfigError
from core.i18n import _
from mail.compose import OutgoingEmail

# What a receiver needs to trust, in the order the notification writes them; only the present ones are signed.
SIGNED_HEADERS = ("From", "To", "Subject", "Date", "Message-ID", "Reply-To", "In-Reply-To", "References",
                  "List-Unsubscribe", "List-Unsubscribe-Post", "MIME-Version", "Content-Type")
KEY_BITS = 2048
TXT_STRING_BYTES = 255  # one character-string of a TXT record holds at most 255 bytes (RFC 1035 3.3.14)


def _present_headers(data: bytes) -> list[str]:
    header_block = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    names = {line.split(":", 1)[0].strip().lower() for line in header_block.split("\r\n")
             if line and not line[0].isspace() and ":" in line}
    return [name for name in SIGNED_HEADERS if name.lower() in names]


@dataclass(frozen=True)
class DkimSigner:
    """Signs with one key under one selector; the domain is dkim_domain or, when empty, the From address's."""

    selector: str
    private_key: bytes
    domain: str = ""

    @classmethod
    def from_config(cls, mail: MailConfig) -> DkimSigner | None:
        """The configured signer, None when DKIM is not configured; a half or broken setting is a ConfigError."""
        if not mail.dkim_selector and not mail.dkim_private_key_file:
            return None
        if not mail.dkim_selector or not mail.dkim_private_key_file:
            raise ConfigError(_("mail.dkim_selector and mail.dkim_private_key_file go together: set both to sign "
                                "with DKIM, or neither (make a key with `threadline dkim generate --selector S`)."))
        key = read_private_key(Path(mail.dkim_private_key_file).expanduser())
        return cls(selector=mail.dkim_selector, private_key=key, domain=mail.dkim_domain)

    def domain_for(self, from_address: str) -> str:
        return (self.domain or from_address.rpartition("@")[2]).lower()

    def sign(self, data: bytes, from_address: str) -> bytes:
        """data with a DKIM-Signature header first (relaxed/relaxed; headers of SIGNED_HEADERS that data has)."""
        header: bytes = dkim.sign(data, self.selector.encode("ascii"), self.domain_for(from_address).encode("idna"),
                           self.private_key, canonicalize=(b"relaxed", b"relaxed"),
                           include_headers=[name.encode("ascii") for name in _present_headers(data)],
                           linesep=b"\r\n")
        return header + data

    def sign_email(self, email: OutgoingEmail) -> OutgoingEmail:
        return dataclasses.replace(email, data=self.sign(email.data, email.sender))


def read_private_key(path: Path) -> bytes:
    """The PEM key at path, checked to be an RSA private key dkimpy can sign with."""
    try:
        key = path.read_bytes()
    except OSError as exc:
        raise ConfigError(_("mail.dkim_private_key_file {path}: cannot be read ({error}).").format(
            path=path, error=exc.strerror or exc)) from None
    try:
        dkim.crypto.parse_pem_private_key(key)
    except dkim.crypto.UnparsableKeyError:
        raise ConfigError(_("mail.dkim_private_key_file {path}: not an RSA private key in PEM form; make one with "
                            "`threadline dkim generate --selector S`.").format(path=path)) from None
    return key


def public_key_base64(private_key_pem: bytes) -> str:
    """The p= value of the DKIM record: the public key as base64 SubjectPublicKeyInfo DER."""
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode("ascii")


def dkim_record(private_key_pem: bytes) -> str:
    return f"v=DKIM1; k=rsa; p={public_key_base64(private_key_pem)}"


def txt_strings(record: str) -> list[str]:
    """record split into the 255-byte character-strings a TXT record is made of (receivers join them)."""
    return [record[i:i + TXT_STRING_BYTES] for i in range(0, len(record), TXT_STRING_BYTES)]


def zone_file_line(selector: str, domain: str, record: str) -> str:
    """The record as a zone-file line, each 255-byte string quoted."""
    strings = " ".join(f'"{part}"' for part in txt_strings(record))
    return f"{selector}._domainkey.{domain}. IN TXT ( {strings} )"


def generate_private_key(path: Path) -> bytes:
    """A new 2048-bit RSA key written to path (mode 0600, never over an existing file); returns its PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(_("{path} exists already; keep it, or move it away to make a new key.").format(
            path=path)) from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return pem

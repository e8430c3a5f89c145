"""Email addresses people give us: validated with email-validator (no DNS), internationalized ones accepted."""
from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from core.errors import InvalidInput
from core.i18n import _


def normalize_email(address: str) -> str:
    """The normalized form of address (domain lowercased, IDNA as Unicode); raises InvalidInput with the reason."""
    address = (address or "").strip()
    if not address:
        raise InvalidInput(_("The email address is empty."))
    try:
        result = validate_email(address, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        raise InvalidInput(_("{address!r} is not a valid email address: {reason}").format(address=address, reason=str(exc))) from None
    return result.normalized


def mailbox_key(address: str | None) -> str | None:
    """The form in which two addresses are compared: normalized (IDNA domain as Unicode), then lowercased, as
    mail servers treat local parts; None when address is empty or not an address."""
    if not address:
        return None
    try:
        return normalize_email(address).lower()
    except InvalidInput:
        return None


def same_mailbox(a: str | None, b: str | None) -> bool:
    """Whether two addresses reach one mailbox (compared by mailbox_key)."""
    left, right = mailbox_key(a), mailbox_key(b)
    return bool(left and right and left == right)

"""Email addresses people give us: validated with email-validator (no DNS), internationalized ones accepted."""
from __future__ import annotations

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from core.errors import InvalidInput
from core.i18n import _

# mail.allow_special_use_domains, set once at start-up (threadline.cli) for the whole process.
_allow_special_use = False


def allow_special_use_domains(allowed: bool) -> None:
    """Accept (or, the default, refuse) addresses at special-use domains such as acme.test or host.local, which
    lab and staging setups use but the public mail system never delivers to."""
    global _allow_special_use
    _allow_special_use = bool(allowed)


def _special_use_suffix(domain: str) -> str | None:
    """The special-use name domain ends in ("test" for acme.test), or None."""
    lowered = domain.lower().rstrip(".")
    for name in SPECIAL_USE_DOMAIN_NAMES:
        if lowered == name or lowered.endswith("." + name):
            return name
    return None


def _validate_special_use(address: str, suffix: str) -> str:
    """Validate an address at a special-use domain: email-validator's test_environment accepts the one name `test`,
    so the address is checked with its special-use ending written as `test`, then given its own ending back."""
    local, _at, domain = address.rpartition("@")
    stem = domain.rstrip(".")[: -len(suffix)]  # "acme." for acme.local, "" for localhost
    result = validate_email(f"{local}@{stem}test", check_deliverability=False, allow_smtputf8=True,
                            test_environment=True)
    return result.normalized[: -len("test")] + suffix


def normalize_email(address: str) -> str:
    """The normalized form of address (domain lowercased, IDNA as Unicode); raises InvalidInput with the reason."""
    address = (address or "").strip()
    if not address:
        raise InvalidInput(_("The email address is empty."))
    suffix = _special_use_suffix(address.rpartition("@")[2]) if "@" in address else None
    try:
        if suffix and _allow_special_use:
            return _validate_special_use(address, suffix)
        result = validate_email(address, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        reason = str(exc)
        if suffix and not _allow_special_use:
            reason = _("{reason} For lab and staging setups, set mail.allow_special_use_domains = true.").format(
                reason=reason)
        raise InvalidInput(
            _("{address!r} is not a valid email address: {reason}").format(address=address, reason=reason)
        ) from None
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

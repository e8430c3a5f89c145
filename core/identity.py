"""End-user identity: proven email addresses, signed identify(), widget sessions, single-use links and merges.

An address is trusted for an end user only when proven (ARCHITECTURE decision 13): a reply carrying that end
user's reply token from that address, a signed identify() from the host website, or an agent's confirmation.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.account_settings import load_settings
from core.addresses import mailbox_key, normalize_email, same_mailbox
from core.clock import Clock
from core.db import rows_changed
from core.errors import CredentialRefused, InvalidInput, NotFound
from core.event_kinds import EventKind
from core.events import record_event
from core.i18n import _
from core.inactivity import reschedule
from core.models import Conversation, EndUser, Message, SpentToken, VerifiedAddress, row_id
from core.text import clean_name
from core.tokens import EndUserClaim
from core.transactions import transactional

# Purpose string for deriving the widget secret from the token secret, so the two never coincide.
_WIDGET_SECRET_PURPOSE = b"threadline widget identify secret"
DEFAULT_SESSION_MAX_AGE = timedelta(days=90)
# A merge chain longer than this is a bug, not a person: stop following it.
_MAX_MERGE_HOPS = 8

PROOF_REPLY = "reply_token"
PROOF_IDENTIFY = "identify"
PROOF_AGENT = "agent"

SPENT_RETURN_LINK = "return_link"
SPENT_IDENTIFY = "identify"


def widget_secret(configured: str, token_secret: str | bytes) -> bytes:
    """The secret identify() signatures are made with: the configured one, else derived from the token secret."""
    if configured:
        return configured.encode()
    if isinstance(token_secret, str):
        token_secret = token_secret.encode()
    return hmac.new(token_secret, _WIDGET_SECRET_PURPOSE, hashlib.sha256).hexdigest().encode()


def identify_signature(secret: bytes, user_id: str, email: str, expires_at: int) -> str:
    """What the host's backend computes: hex HMAC-SHA256 of "user_id\\nemail\\nexpires_at" (Unix seconds)."""
    payload = f"{user_id}\n{email}\n{expires_at}".encode()
    return hmac.new(secret, payload, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class IdentityClaim:
    """What a host page passes to identify(): who the signed-in person is, until when, signed by its backend."""

    user_id: str
    email: str
    expires_at: int
    signature: str
    name: str | None = None

    def check(self, secret: bytes, now: datetime) -> None:
        """Raise CredentialRefused unless the signature covers these fields and has not expired."""
        if not self.user_id or not self.email or not self.signature:
            raise CredentialRefused("invalid_signature", _(
                "identify() needs user_id, email, expires_at and the signature computed by the website's server."))
        expected = identify_signature(secret, self.user_id, self.email, self.expires_at)
        if not hmac.compare_digest(expected.encode(), self.signature.strip().lower().encode()):
            raise CredentialRefused("invalid_signature", _(
                "The identity signature does not match user_id, email and expires_at; the website must sign "
                "them with its widget secret."))
        if self.expires_at <= int(now.timestamp()):
            raise CredentialRefused("identity_expired", _(
                "The identity signature has expired; the website must sign a fresh one for each page it serves."))


def return_link_url(public_url: str, token: str) -> str:
    """The address an email's "return to the conversation" link points at (served by the widget server)."""
    return f"{public_url.rstrip('/')}/return/{quote(token, safe='')}"


def _digest(kind: str, token: str) -> str:
    return hashlib.sha256(f"{kind}|{token.strip().lower()}".encode()).hexdigest()


def same_address(a: str | None, b: str | None) -> bool:
    """Whether two addresses are one mailbox (core.addresses.same_mailbox)."""
    return same_mailbox(a, b)


class IdentityService:
    """Proofs of addresses, the sessions a widget token opens, single-use credentials and profile merges."""

    def __init__(self, session: Session, clock: Clock, *, session_max_age: timedelta = DEFAULT_SESSION_MAX_AGE) -> None:
        self.session = session
        self.clock = clock
        self.session_max_age = session_max_age

    def _end_user(self, end_user_id: int) -> EndUser:
        end_user = self.session.get(EndUser, end_user_id)
        if end_user is None:
            raise NotFound(_("There is no end user with id {id}.").format(id=end_user_id))
        return end_user

    # --- proven addresses ---------------------------------------------------------------------------------
    def verified_addresses(self, end_user_id: int) -> list[str]:
        query = select(VerifiedAddress.address).where(VerifiedAddress.end_user_id == end_user_id)
        return list(self.session.exec(query))

    def is_verified(self, end_user_id: int, address: str | None) -> bool:
        return any(same_address(address, proven) for proven in self.verified_addresses(end_user_id))

    def verified_owner(self, address: str) -> EndUser | None:
        """The end user who proved this address (the most recent proof wins), or None: never a mere claimant."""
        key = mailbox_key(address)
        if key is None:
            return None
        query = (select(EndUser).join(VerifiedAddress, col(VerifiedAddress.end_user_id) == EndUser.id)
                 .where(func.lower(VerifiedAddress.address) == key,
                        col(EndUser.merged_into_id).is_(None))
                 .order_by(col(VerifiedAddress.verified_at).desc(), col(VerifiedAddress.id).desc()).limit(1))
        return self.session.exec(query).first()

    def claimants(self, end_user_id: int) -> list[EndUser]:
        """Other profiles that gave or proved this end user's address: the console offers to merge them."""
        end_user = self._end_user(end_user_id)
        if not end_user.email:
            return []
        key = end_user.email.lower()
        proven = select(VerifiedAddress.end_user_id).where(func.lower(VerifiedAddress.address) == key)
        query = (select(EndUser).where(EndUser.id != end_user.id, col(EndUser.merged_into_id).is_(None),
                                       (func.lower(EndUser.email) == key) | col(EndUser.id).in_(proven))
                 .order_by(col(EndUser.id)))
        return list(self.session.exec(query))

    @transactional
    def prove(self, end_user_id: int, address: str, method: str) -> EndUser:
        """Record that end_user owns address; their current address, if it is this one, becomes verified."""
        end_user = self._end_user(end_user_id)
        normalized = normalize_email(address)
        now = self.clock.now()
        if not self.is_verified(row_id(end_user), normalized):
            self.session.add(VerifiedAddress(end_user_id=row_id(end_user), address=normalized, method=method,
                                             verified_at=now))
            record_event(
                self.session, now, EventKind.end_user_email_verified, None, end_user_id=end_user.id, method=method
            )
        if same_address(end_user.email, normalized) and not end_user.email_verified:
            end_user.email_verified = True
            self.session.add(end_user)
        self.session.flush()
        self.route_notifications(end_user)
        return end_user

    def route_notifications(self, end_user: EndUser) -> None:
        """Point each of the end user's conversations at the address it may be emailed at, and reschedule.

        A conversation follows the end user's current address unless it already goes to a proven address and
        the current one is unproven: a typed address never takes a proven conversation away from its owner.
        """
        proven = self.verified_addresses(row_id(end_user))
        current_proven = any(same_address(end_user.email, p) for p in proven)
        settings = load_settings(self.session)
        now = self.clock.now()
        for conversation in self.session.exec(select(Conversation).where(Conversation.end_user_id == end_user.id)):
            keeps_proven = (conversation.notify_email is not None and not current_proven and end_user.email is not None
                            and any(same_address(conversation.notify_email, p) for p in proven))
            target = conversation.notify_email if keeps_proven else end_user.email
            if conversation.notify_email != target:
                conversation.notify_email = target
                self.session.add(conversation)
                record_event(self.session, now, EventKind.conversation_notify_address_changed, conversation.id,
                             end_user_id=end_user.id, has_address=target is not None)
            reschedule(self.session, conversation, now, settings)

    # --- widget sessions ------------------------------------------------------------------------------------
    def session_end_user(self, claim: EndUserClaim) -> EndUser:
        """The end user a valid token acts for (following merges); CredentialRefused when revoked or too old."""
        end_user = self.session.get(EndUser, claim.end_user_id)
        refused = CredentialRefused(
            "unauthorized", _("Your chat session is not valid any more; start a new conversation.")
        )
        if end_user is None:
            raise refused
        now = self.clock.now()
        if claim.issued_at > now + timedelta(minutes=5) or now - claim.issued_at > self.session_max_age:
            raise refused
        for _hop in range(_MAX_MERGE_HOPS):
            if end_user.blocked:
                return end_user  # the caller refuses it as blocked, which tells the person more than "expired"
            if end_user.sessions_valid_after is not None and claim.issued_at < end_user.sessions_valid_after:
                raise refused
            if end_user.merged_into_id is None:
                return end_user
            merged = self.session.get(EndUser, end_user.merged_into_id)
            if merged is None:
                raise refused
            end_user = merged
        raise refused

    @transactional
    def revoke_sessions(self, end_user_id: int) -> EndUser:
        """Every widget token issued until now stops working (blocking does this)."""
        end_user = self._end_user(end_user_id)
        now = self.clock.now()
        # Tokens carry whole seconds: a token issued in this second is older than the next second.
        end_user.sessions_valid_after = now.replace(microsecond=0) + timedelta(seconds=1)
        self.session.add(end_user)
        record_event(self.session, now, EventKind.end_user_sessions_revoked, None, end_user_id=end_user.id)
        return end_user

    # --- single-use credentials ---------------------------------------------------------------------------
    def spent_by(self, kind: str, token: str) -> SpentToken | None:
        return self.session.get(SpentToken, _digest(kind, token))

    def spend(self, kind: str, token: str, end_user_id: int | None, expires_at: datetime) -> None:
        """Mark a credential used, in the caller's transaction; CredentialRefused when it was used before."""
        digest = _digest(kind, token)
        if self.session.get(SpentToken, digest) is not None:
            raise CredentialRefused(f"{kind}_used", _spent_message(kind))
        now = self.clock.now()
        # Forget what expired long ago; an expired credential is refused by its own expiry anyway.
        self.session.execute(delete(SpentToken).where(col(SpentToken.expires_at) < now - timedelta(days=1))
                             .execution_options(synchronize_session=False))
        try:
            with self.session.begin_nested():
                self.session.add(SpentToken(digest=digest, kind=kind, end_user_id=end_user_id,
                                            expires_at=max(expires_at, now)))
        except IntegrityError:  # another process spent it at the same moment
            raise CredentialRefused(f"{kind}_used", _spent_message(kind)) from None

    # --- identify() -----------------------------------------------------------------------------------------
    @transactional
    def identify(self, current_end_user_id: int | None, claim: IdentityClaim, secret: bytes) -> EndUser:
        """The end user the host website vouches for; the anonymous session's conversations join them.

        The signature covers user id, email and expiry; a signature already used by another profile is refused,
        so one seen once cannot open someone's conversations from another browser.
        """
        now = self.clock.now()
        claim.check(secret, now)
        email = normalize_email(claim.email)
        current = self._end_user(current_end_user_id) if current_end_user_id is not None else None
        owner = self.session.exec(select(EndUser).where(EndUser.external_id == claim.user_id)).first()
        while owner is not None and owner.merged_into_id is not None:
            owner = self.session.get(EndUser, owner.merged_into_id)
        spent = self.spent_by(SPENT_IDENTIFY, claim.signature)
        if spent is not None:
            if owner is None or spent.end_user_id != owner.id or current is None or current.id != owner.id:
                raise CredentialRefused("identify_used", _spent_message(SPENT_IDENTIFY))
            return owner  # the same session identifying again with the same signature: nothing changes
        if owner is None:
            if current is not None and current.external_id is None:
                owner = current  # an anonymous visitor signs in: their profile becomes the identified one
                owner.external_id = claim.user_id
            else:
                owner = EndUser(
                    external_id=claim.user_id, created_at=now, language=current.language if current else None
                )
            self.session.add(owner)
            self.session.flush()
        elif current is not None and current.id != owner.id and current.external_id is None:
            self._merge(current, owner, now, by_agent_id=None)
        self.spend(SPENT_IDENTIFY, claim.signature, owner.id, datetime.fromtimestamp(claim.expires_at, UTC))
        if claim.name:
            owner.name = clean_name(claim.name)
        if not same_address(owner.email, email):
            owner.email = email
            owner.email_verified = False
            owner.email_failing = False
        self.session.add(owner)
        record_event(self.session, now, EventKind.end_user_identified, None, end_user_id=owner.id)
        return self.prove(row_id(owner), email, PROOF_IDENTIFY)

    # --- merges ---------------------------------------------------------------------------------------------
    @transactional
    def merge(self, source_id: int, target_id: int, agent_id: int) -> EndUser:
        """An agent confirms two profiles are one person: source's conversations, proofs and sessions join target."""
        if source_id == target_id:
            raise InvalidInput(_("A profile cannot be merged into itself."))
        source, target = self._end_user(source_id), self._end_user(target_id)
        if source.merged_into_id is not None or target.merged_into_id is not None:
            raise InvalidInput(_("One of these profiles was merged already; open the conversation again."))
        self._merge(source, target, self.clock.now(), by_agent_id=agent_id)
        self.route_notifications(target)
        return target

    @transactional
    def merge_claimants(self, target_id: int, agent_id: int, expected: list[int]) -> EndUser:
        """Merge the profiles the agent was shown as claiming target's address; refused if that list changed."""
        claimants = self.claimants(target_id)
        if sorted(row_id(u) for u in claimants) != sorted(expected):
            raise InvalidInput(_("The profiles with this address changed while you looked; check them again."))
        for other in claimants:
            self.merge(row_id(other), target_id, agent_id)
        return self._end_user(target_id)

    def _merge(self, source: EndUser, target: EndUser, now: datetime, *, by_agent_id: int | None) -> None:
        moved = rows_changed(self.session.execute(update(Conversation).where(col(Conversation.end_user_id) == source.id)
                                                  .values(end_user_id=target.id)))
        self.session.execute(update(Message).where(col(Message.author_end_user_id) == source.id)
                             .values(author_end_user_id=target.id))
        for proof in self.session.exec(select(VerifiedAddress).where(VerifiedAddress.end_user_id == source.id)):
            if self.is_verified(row_id(target), proof.address):
                self.session.delete(proof)
            else:
                proof.end_user_id = row_id(target)
                self.session.add(proof)
        source.merged_into_id = target.id
        if not target.email and source.email:
            target.email, target.email_verified = source.email, source.email_verified
        if not target.name and source.name:
            target.name = source.name
        if target.language is None:
            target.language = source.language
        target.blocked = target.blocked or source.blocked
        self.session.add_all([source, target])
        self.session.flush()
        self.session.expire_all()
        record_event(self.session, now, EventKind.end_user_merged, None, end_user_id=target.id, merged_id=source.id,
                     conversations=moved, agent_id=by_agent_id)


def _spent_message(kind: str) -> str:
    if kind == SPENT_RETURN_LINK:
        return _("This link was used already: each email link opens the conversation once. Reply to the email, "
                 "or open the chat on the website.")
    return _("This identity signature was used already; the website must sign a fresh one for each page it serves.")

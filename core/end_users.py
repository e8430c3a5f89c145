"""End users' profile: email address (validated, normalized), language, name, and blocking."""
from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.account_settings import load_settings
from core.addresses import normalize_email
from core.clock import Clock
from core.errors import InvalidInput, NotFound
from core.event_kinds import EventKind
from core.events import record_event
from core.i18n import _
from core.identity import PROOF_AGENT, IdentityService
from core.inactivity import reschedule
from core.language_tags import language_tag
from core.models import Channel, Conversation, ConversationStatus, EndUser, VerifiedAddress, row_id
from core.text import clean_name
from core.transactions import transactional


class EndUserService:
    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def get(self, end_user_id: int) -> EndUser:
        end_user = self.session.get(EndUser, end_user_id)
        if end_user is None:
            raise NotFound(_("There is no end user with id {id}.").format(id=end_user_id))
        return end_user

    @transactional
    def set_email(self, end_user_id: int, address: str | None) -> EndUser:
        """Store the normalized address (internationalized ones accepted; None removes it); invalid changes nothing.

        The address counts as verified only if this end user proved it before; conversations that go to a proven
        address keep it until the new one is proven too (core.identity.IdentityService.route_notifications).
        """
        email = normalize_email(address) if address is not None else None
        end_user = self.get(end_user_id)
        now = self.clock.now()
        identity = IdentityService(self.session, self.clock)
        end_user.email = email
        end_user.email_verified = email is not None and identity.is_verified(row_id(end_user), email)
        end_user.email_failing = False  # a bounce was about the old address, or the user just confirmed this one
        self.session.add(end_user)
        record_event(self.session, now, EventKind.end_user_email_set, None, end_user_id=end_user.id,
                     has_email=email is not None, verified=end_user.email_verified)
        self.session.flush()
        identity.route_notifications(end_user)
        return end_user

    @transactional
    def verify_email(self, end_user_id: int) -> EndUser:
        """An agent confirms the end user owns their current address (one of the three proofs)."""
        end_user = self.get(end_user_id)
        if not end_user.email:
            raise InvalidInput(_("The end user has no email address to verify; set one first."))
        return IdentityService(self.session, self.clock).prove(row_id(end_user), end_user.email, PROOF_AGENT)

    @transactional
    def set_language(self, end_user_id: int, tag: str, *, by_agent: bool = False) -> EndUser:
        """Set the preferred language; the widget does not overwrite one an agent chose."""
        language = language_tag(tag)
        end_user = self.get(end_user_id)
        if end_user.language_set_by_agent and not by_agent:
            return end_user  # the agent knows better than the browser's settings
        if end_user.language != language or (by_agent and not end_user.language_set_by_agent):
            now = self.clock.now()
            end_user.language = language
            end_user.language_set_by_agent = end_user.language_set_by_agent or by_agent
            self.session.add(end_user)
            record_event(self.session, now, EventKind.end_user_language_set, None, end_user_id=end_user.id,
                         language=language, by_agent=by_agent)
        return end_user

    @transactional
    def set_name(self, end_user_id: int, name: str | None) -> EndUser:
        end_user = self.get(end_user_id)
        end_user.name = clean_name(name)
        self.session.add(end_user)
        record_event(self.session, self.clock.now(), EventKind.end_user_name_set, None, end_user_id=end_user.id)
        return end_user

    def block(self, end_user_id: int) -> EndUser:
        return self._set_blocked(end_user_id, True)

    def unblock(self, end_user_id: int) -> EndUser:
        return self._set_blocked(end_user_id, False)

    @transactional
    def _set_blocked(self, end_user_id: int, blocked: bool) -> EndUser:
        """Blocked end users get no notifications; the widget and inbound mail refuse them."""
        end_user = self.get(end_user_id)
        if end_user.blocked != blocked:
            end_user.blocked = blocked
            self.session.add(end_user)
            record_event(
                self.session,
                self.clock.now(),
                EventKind.end_user_blocked if blocked else EventKind.end_user_unblocked,
                None,
                end_user_id=end_user.id,
            )
            if blocked:
                # Unblocking later must not bring back the tokens a blocked person held.
                IdentityService(self.session, self.clock).revoke_sessions(row_id(end_user))
            self._reschedule_open_conversations(end_user)
        return end_user

    def is_blocked_address(self, address: str) -> bool:
        """Whether a blocked end user holds this address (compared in normalized form, local part in any case)."""
        try:
            email = normalize_email(address)
        except InvalidInput:
            return False
        found = self.session.exec(
            select(EndUser.id).where(func.lower(EndUser.email) == email.lower(), EndUser.blocked == True).limit(1)  # noqa: E712
        ).first()
        return found is not None

    def blocks_mail_from(self, address: str) -> bool:
        """Whether mail from address is refused: a blocked end user proved it, or wrote to us from it.

        A blocked widget visitor who merely typed someone else's address must not get that person's email refused.
        """
        try:
            email = normalize_email(address).lower()
        except InvalidInput:
            return False
        proven = select(VerifiedAddress.end_user_id).where(func.lower(VerifiedAddress.address) == email)
        wrote = select(Conversation.end_user_id).where(Conversation.channel == Channel.email)
        query = (select(EndUser.id).where(EndUser.blocked == True, func.lower(EndUser.email) == email,  # noqa: E712
                                          col(EndUser.id).in_(proven) | col(EndUser.id).in_(wrote))
                 .union(select(EndUser.id).where(EndUser.blocked == True, col(EndUser.id).in_(proven))))  # noqa: E712
        return self.session.execute(query.limit(1)).first() is not None

    def _reschedule_open_conversations(self, end_user: EndUser) -> None:
        self.session.flush()
        settings = load_settings(self.session)
        now = self.clock.now()
        query = select(Conversation).where(Conversation.end_user_id == end_user.id,
                                           Conversation.status != ConversationStatus.solved)
        for conversation in self.session.exec(query):
            reschedule(self.session, conversation, now, settings)

"""The conversation service: start conversations, post messages, read marks, assignment, status, take next,
transcript."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.activity import ActivityService
from core.activity_rules import END_USER
from core.addresses import normalize_email
from core.clock import Clock
from core.conversation_writes import ALLOWED_TRANSITIONS, append_message, change_status, reopen_status
from core.db import is_postgresql
from core.domain_events import ConversationChanged, ConversationStarted, ReadMarked, raise_event
from core.errors import InvalidInput, InvalidTransition, NotFound
from core.event_kinds import EventKind, read_kind
from core.events import record_event
from core.i18n import _
from core.identity import PROOF_IDENTIFY
from core.language_tags import language_tag
from core.models import (
    Agent,
    AuthorKind,
    Channel,
    Conversation,
    ConversationStatus,
    EndUser,
    Message,
    VerifiedAddress,
    row_id,
)
from core.text import MAX_BODY_CHARS, clean_body, clean_name
from core.transactions import transactional

__all__ = ["ALLOWED_TRANSITIONS", "ConversationService"]


class ConversationService:
    """Plain service over one session; every public method that changes state is one transaction."""

    def __init__(self, session: Session, clock: Clock, max_body_chars: int = MAX_BODY_CHARS) -> None:
        self.session = session
        self.clock = clock
        self.max_body_chars = max_body_chars

    # --- lookups -------------------------------------------------------------------------------
    def get(self, conversation_id: int, *, lock: bool = False) -> Conversation:
        query = select(Conversation).where(Conversation.id == conversation_id)
        if lock:
            # Row lock on PostgreSQL; on SQLite the writing session holds the database lock already.
            query = query.with_for_update()
        conversation = self.session.exec(query.execution_options(populate_existing=True)).first()
        if conversation is None:
            raise NotFound(_("There is no conversation with id {id}.").format(id=conversation_id))
        return conversation

    def end_user(self, end_user_id: int) -> EndUser:
        end_user = self.session.get(EndUser, end_user_id)
        if end_user is None:
            raise NotFound(_("There is no end user with id {id}.").format(id=end_user_id))
        return end_user

    def _agent(self, agent_id: int) -> Agent:
        agent = self.session.get(Agent, agent_id)
        if agent is None:
            raise NotFound(_("There is no agent with id {id}.").format(id=agent_id))
        return agent

    # --- end users and conversations -------------------------------------------------------------
    @transactional
    def create_end_user(self, name: str | None = None, email: str | None = None, language: str | None = None,
                        *, email_verified: bool = False, timezone: str | None = None) -> EndUser:
        if email is not None:
            email = normalize_email(email)
        now = self.clock.now()
        end_user = EndUser(name=clean_name(name), email=email, email_verified=email_verified and email is not None,
                           language=_clean_language(language), timezone=timezone, created_at=now)
        self.session.add(end_user)
        self.session.flush()
        # Only a caller holding proof (a checked identify signature) passes email_verified; it is only set
        # with an address, so the second test is for the type checker.
        if end_user.email_verified and email is not None:
            self.session.add(VerifiedAddress(end_user_id=row_id(end_user), address=email, method=PROOF_IDENTIFY,
                                             verified_at=now))
        record_event(self.session, now, EventKind.end_user_created, None, end_user_id=end_user.id)
        return end_user

    @transactional
    def start_conversation(self, end_user_id: int, *, channel: Channel | str = Channel.messaging,
                           language: str | None = None) -> Conversation:
        end_user = self.end_user(end_user_id)
        channel = _channel(channel)
        now = self.clock.now()
        conversation = Conversation(
            end_user_id=row_id(end_user), channel=channel, language=_clean_language(language) or end_user.language,
            created_at=now, updated_at=now, notify_email=end_user.email,
        )
        self.session.add(conversation)
        self.session.flush()
        record_event(self.session, now, EventKind.conversation_started, conversation.id,
                     status=conversation.status.value, channel=channel.value, end_user_id=end_user.id)
        raise_event(self.session, ConversationStarted(now, row_id(conversation)))
        return conversation

    # --- messages ----------------------------------------------------------------------------------
    @transactional
    def post_message(self, conversation_id: int, author_kind: AuthorKind | str, body: str, *,
                     agent_id: int | None = None, channel: Channel | str = Channel.messaging,
                     email_message_id: str | None = None, email_fallback: bool = True,
                     kind: str = "text", meta: dict[str, Any] | None = None) -> Message:
        author_kind = AuthorKind(author_kind)
        channel = _channel(channel)
        body = clean_body(body, self.max_body_chars)
        if author_kind is AuthorKind.agent:
            if agent_id is None:
                raise InvalidInput(_("An agent message needs the agent who writes it."))
            self._agent(agent_id)
        elif agent_id is not None:
            raise InvalidInput(_("Only agent messages name an agent."))
        if email_message_id is not None:
            email_message_id = email_message_id.strip()
            if self.session.exec(select(Message.id).where(Message.email_message_id == email_message_id)).first():
                raise InvalidInput(_("An email with Message-ID {id} is stored already.").format(id=email_message_id))
        conversation = self.get(conversation_id, lock=True)
        message = append_message(self.session, self.clock.now(), conversation, author_kind, body, agent_id=agent_id,
                                 channel=channel, email_message_id=email_message_id, email_fallback=email_fallback,
                                 kind=kind, meta=meta)
        if author_kind is AuthorKind.end_user:
            # Sent: whatever "is typing" their text box reported is over (in this transaction: one less per POST).
            ActivityService(self.session, self.clock).left(conversation_id, END_USER)
        return message

    def post_end_user_message(self, conversation_id: int, body: str, **kwargs: Any) -> Message:
        return self.post_message(conversation_id, AuthorKind.end_user, body, **kwargs)

    def post_agent_message(
        self, conversation_id: int, agent_id: int, body: str, *, email_fallback: bool = True
    ) -> Message:
        return self.post_message(
            conversation_id, AuthorKind.agent, body, agent_id=agent_id, email_fallback=email_fallback
        )

    # --- read state ----------------------------------------------------------------------------------
    @transactional
    def mark_read(self, conversation_id: int, side: AuthorKind | str, seq: int) -> int:
        """Move one side's read mark up to seq; it never moves backwards. Returns the mark now in force."""
        side = AuthorKind(side)
        if side is AuthorKind.system:
            raise InvalidInput(_("Only end users and agents read messages."))
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise InvalidInput(_("A read mark is a whole number of zero or more, not {seq!r}.").format(seq=seq))
        conversation = self.get(conversation_id, lock=True)
        if seq > conversation.last_seq:
            raise InvalidInput(
                _("Cannot mark message {seq} read: the conversation has {count} messages.").format(
                    seq=seq, count=conversation.last_seq
                )
            )
        field = "end_user_read_seq" if side is AuthorKind.end_user else "agent_read_seq"
        current: int = getattr(conversation, field)
        if seq <= current:
            return current
        now = self.clock.now()
        setattr(conversation, field, seq)
        self.session.add(conversation)
        record_event(self.session, now, read_kind(side.value), conversation.id, seq=seq)
        raise_event(self.session, ReadMarked(now, row_id(conversation), side))
        return seq

    # --- assignment and status ------------------------------------------------------------------------
    @transactional
    def assign(self, conversation_id: int, agent_id: int) -> Conversation:
        agent = self._agent(agent_id)
        conversation = self.get(conversation_id, lock=True)
        if conversation.assignee_id == agent.id:
            raise InvalidTransition(_("The conversation is assigned to {name} already.").format(name=agent.name))
        self._assign(conversation, agent)
        return conversation

    @transactional
    def take_next(self, agent_id: int) -> Conversation | None:
        """Assign the longest-waiting unassigned conversation to the agent; None when nobody waits.

        Two agents taking at once get different conversations: on PostgreSQL the row is claimed with
        FOR UPDATE SKIP LOCKED; on SQLite the writing session's BEGIN IMMEDIATE lets one taker in at a time.
        """
        agent = self._agent(agent_id)
        query = (select(Conversation)
                 .where(col(Conversation.assignee_id).is_(None),
                        col(Conversation.status).in_([ConversationStatus.queued, ConversationStatus.open]),
                        col(Conversation.waiting_since).is_not(None))
                 .order_by(col(Conversation.waiting_since), col(Conversation.id)).limit(1))
        if is_postgresql(self.session.get_bind()):
            query = query.with_for_update(skip_locked=True)
        conversation = self.session.exec(query.execution_options(populate_existing=True)).first()
        if conversation is None:
            return None
        self._assign(conversation, agent)
        return conversation

    def _assign(self, conversation: Conversation, agent: Agent) -> None:
        now = self.clock.now()
        before = conversation.status
        conversation.assignee_id = agent.id
        if conversation.status is ConversationStatus.queued:
            conversation.status = ConversationStatus.open
        conversation.updated_at = now
        self.session.add(conversation)
        record_event(self.session, now, EventKind.conversation_assigned, conversation.id,
                     assignee_id=agent.id, status=conversation.status.value, previous=before.value)
        raise_event(self.session, ConversationChanged(now, row_id(conversation)))

    @transactional
    def unassign(self, conversation_id: int) -> Conversation:
        conversation = self.get(conversation_id, lock=True)
        if conversation.assignee_id is None:
            raise InvalidTransition(_("The conversation is not assigned to anyone."))
        now = self.clock.now()
        before = conversation.status
        conversation.assignee_id = None
        if conversation.status is ConversationStatus.open:
            conversation.status = ConversationStatus.queued  # released: back to the shared queue
        conversation.updated_at = now
        self.session.add(conversation)
        record_event(self.session, now, EventKind.conversation_unassigned, conversation.id,
                     assignee_id=None, status=conversation.status.value, previous=before.value)
        raise_event(self.session, ConversationChanged(now, row_id(conversation)))
        return conversation

    @transactional
    def set_status(self, conversation_id: int, status: ConversationStatus | str) -> Conversation:
        try:
            status = ConversationStatus(status)
        except ValueError:
            raise InvalidInput(
                _("Unknown status {status!r}; use queued, open, pending or solved.").format(status=status)
            ) from None
        conversation = self.get(conversation_id, lock=True)
        change_status(self.session, self.clock.now(), conversation, status)
        return conversation

    @transactional
    def reopen(self, conversation_id: int) -> Conversation:
        """Reopen a pending or solved conversation: open for its assignee, else back in the queue."""
        conversation = self.get(conversation_id, lock=True)
        change_status(self.session, self.clock.now(), conversation, reopen_status(conversation))
        return conversation

    # --- reading ------------------------------------------------------------------------------------
    def transcript(self, conversation_id: int, after_seq: int = 0, limit: int | None = None) -> list[Message]:
        self.get(conversation_id)
        query = (select(Message).where(Message.conversation_id == conversation_id, Message.seq > after_seq)
                 .order_by(col(Message.seq)))
        if limit is not None:
            query = query.limit(limit)
        return list(self.session.exec(query))

    def unread_count(self, conversation: Conversation, side: AuthorKind | str) -> int:
        """Messages written by the other side (agents, for the end user; the end user, for agents) above the mark."""
        side = AuthorKind(side)
        mark = conversation.end_user_read_seq if side is AuthorKind.end_user else conversation.agent_read_seq
        other = AuthorKind.agent if side is AuthorKind.end_user else AuthorKind.end_user
        count = self.session.exec(
            select(func.count()).select_from(Message).where(
                Message.conversation_id == conversation.id, Message.seq > mark, Message.author_kind == other)
        ).one()
        return int(count)


def _channel(channel: Channel | str) -> Channel:
    try:
        return Channel(channel)
    except ValueError:
        raise InvalidInput(
            _("Unknown channel {channel!r}; use messaging, email or api.").format(channel=channel)
        ) from None


def _clean_language(language: str | None) -> str | None:
    return language_tag(language) if language else None

"""Agents working together on a conversation: internal notes only agents see, transfers, and tags."""
from __future__ import annotations

import re

from sqlmodel import Session, col, select

from core.agents import AgentService
from core.clock import Clock
from core.conversations import ConversationService
from core.domain_events import ConversationChanged, raise_event
from core.errors import InvalidInput, InvalidTransition
from core.event_kinds import EventKind
from core.events import record_event
from core.i18n import _
from core.models import Agent, Conversation, ConversationNote, ConversationStatus, row_id
from core.text import MAX_BODY_CHARS, clean_body
from core.transactions import transactional

MAX_TAG_CHARS = 40
# ASCII only: the queue filters tags by the JSON text, where other letters would be stored escaped.
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:/-]*$")


def clean_tag(tag: str) -> str:
    """A tag ready to store: trimmed, lowercased, one word (letters, digits, '.', ':', '/', '-', '_')."""
    tag = (tag or "").strip().lstrip("#").lower()
    if not tag or len(tag) > MAX_TAG_CHARS or not _TAG.match(tag):
        raise InvalidInput(_("The tag {tag!r} is not valid; use one word of at most {limit} letters a-z, digits, '.', "
                             "':', '/', '-' or '_'.").format(tag=tag, limit=MAX_TAG_CHARS))
    return tag


class CollaborationService:
    """Notes, transfers and tags; every public method that changes state is one transaction.

    A note is never a message: it does not move the conversation's seq, read marks, waiting time or status, raises
    no MessagePosted (so no trigger, notification or first response sees it), and its event carries no text.
    """

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def _agent(self, agent_id: int) -> Agent:
        return AgentService(self.session, self.clock).get(agent_id)

    # --- notes ---------------------------------------------------------------------------------------
    @transactional
    def add_note(self, conversation_id: int, agent_id: int, body: str) -> ConversationNote:
        """Add an internal note, placed after the conversation's latest message."""
        body = clean_body(body, MAX_BODY_CHARS)
        self._agent(agent_id)
        conversation = ConversationService(self.session, self.clock).get(conversation_id)
        now = self.clock.now()
        note = ConversationNote(conversation_id=row_id(conversation), after_seq=conversation.last_seq,
                                author_agent_id=agent_id, body=body, created_at=now)
        self.session.add(note)
        self.session.flush()
        record_event(self.session, now, EventKind.note_added, conversation.id, note_id=note.id, agent_id=agent_id)
        return note

    def notes(self, conversation_id: int, after_seq: int = 0) -> list[ConversationNote]:
        """The conversation's notes placed after message after_seq, in the order they were written."""
        return list(self.session.exec(
            select(ConversationNote).where(ConversationNote.conversation_id == conversation_id,
                                           col(ConversationNote.after_seq) >= after_seq)
            .order_by(col(ConversationNote.after_seq), col(ConversationNote.id))))

    # --- transfer ------------------------------------------------------------------------------------
    @transactional
    def transfer(self, conversation_id: int, from_agent_id: int, to_agent_id: int,
                 note: str | None = None) -> Conversation:
        """Assign the conversation to another agent, with an optional note for them; the assignment event names
        who transferred it, so the receiving agent's console can tell them."""
        if from_agent_id == to_agent_id:
            raise InvalidInput(_("Choose another agent: you cannot transfer a conversation to yourself."))
        sender = self._agent(from_agent_id)
        receiver = self._agent(to_agent_id)
        conversations = ConversationService(self.session, self.clock)
        conversation = conversations.get(conversation_id, lock=True)
        if conversation.assignee_id == receiver.id:
            raise InvalidTransition(_("The conversation is assigned to {name} already.").format(name=receiver.name))
        if note is not None and note.strip():
            self.add_note(conversation_id, from_agent_id, note)
        now = self.clock.now()
        before = conversation.status
        conversation.assignee_id = receiver.id
        if conversation.status is ConversationStatus.queued:
            conversation.status = ConversationStatus.open
        conversation.updated_at = now
        self.session.add(conversation)
        record_event(self.session, now, EventKind.conversation_assigned, conversation.id,
                     assignee_id=receiver.id, status=conversation.status.value, previous=before.value,
                     by_agent_id=sender.id)
        raise_event(self.session, ConversationChanged(now, row_id(conversation)))
        return conversation

    # --- tags ----------------------------------------------------------------------------------------
    @transactional
    def change_tags(self, conversation_id: int, add: list[str], remove: list[str]) -> Conversation:
        """Add and remove several tags in one transaction (all or nothing)."""
        conversation = ConversationService(self.session, self.clock).get(conversation_id, lock=True)
        for tag in add:
            conversation = self.add_tag(conversation_id, tag)
        for tag in remove:
            conversation = self.remove_tag(conversation_id, tag)
        return conversation

    @transactional
    def add_tag(self, conversation_id: int, tag: str) -> Conversation:
        tag = clean_tag(tag)
        conversation = ConversationService(self.session, self.clock).get(conversation_id, lock=True)
        if tag not in conversation.tags:
            now = self.clock.now()
            conversation.tags = [*conversation.tags, tag]
            self.session.add(conversation)
            record_event(self.session, now, EventKind.conversation_tagged, conversation.id, tag=tag)
        return conversation

    @transactional
    def remove_tag(self, conversation_id: int, tag: str) -> Conversation:
        tag = clean_tag(tag)
        conversation = ConversationService(self.session, self.clock).get(conversation_id, lock=True)
        if tag not in conversation.tags:
            raise InvalidInput(_("The conversation has no tag {tag!r}.").format(tag=tag))
        now = self.clock.now()
        conversation.tags = [t for t in conversation.tags if t != tag]
        self.session.add(conversation)
        record_event(self.session, now, EventKind.conversation_untagged, conversation.id, tag=tag)
        return conversation

"""Delivery state of agent messages: seen by the end user, emailed (and when), queued, failed, or not emailable."""
from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from core.models import AuthorKind, Conversation, Message, OutboxJob, OutboxStatus


class DeliveryState(enum.StrEnum):
    """The headline state of one agent message (details are on MessageDelivery)."""

    bounced = "bounced"
    failed = "failed"
    seen = "seen"
    emailed = "emailed"
    pending = "pending"            # a notification carrying it is queued
    no_address = "no_address"      # not seen, and the conversation has no address to email it to
    no_fallback = "no_fallback"    # not seen, and the agent sent it without the email fallback
    not_seen = "not_seen"


@dataclass(frozen=True)
class MessageDelivery:
    seq: int
    state: DeliveryState
    seen: bool
    emailed_at: datetime | None    # kept when the end user later saw it: "emailed 10:04 · seen"
    pending: bool
    problem: OutboxStatus | None   # failed or bounced
    error: str | None              # the failed job's reason


def message_deliveries(session: Session, conversation: Conversation,
                       messages: Iterable[Message]) -> dict[int, MessageDelivery]:
    """The delivery of each agent message among messages, by seq (one query for the conversation's jobs)."""
    agent_messages = [m for m in messages if m.author_kind is AuthorKind.agent]
    if not agent_messages:
        return {}
    lowest = min(m.seq for m in agent_messages)
    jobs = list(session.exec(select(OutboxJob).where(OutboxJob.conversation_id == conversation.id,
                                                      col(OutboxJob.last_seq) >= lowest)
                             .order_by(col(OutboxJob.id))))
    return {m.seq: _delivery(m, conversation, jobs) for m in agent_messages}


def _delivery(message: Message, conversation: Conversation, jobs: list[OutboxJob]) -> MessageDelivery:
    emailed_at = None
    problem = None
    error = None
    pending = False
    for job in jobs:  # in creation order: a later retry or resend supersedes an earlier failure
        if job.first_seq <= message.seq <= job.last_seq:
            if job.status is OutboxStatus.sent:
                emailed_at = job.sent_at
                problem = None
                pending = False
            elif job.status in (OutboxStatus.failed, OutboxStatus.bounced):
                problem = job.status
                error = job.last_error
            else:
                pending = True
    seen = message.seq <= conversation.end_user_read_seq
    if problem is not None:
        state = DeliveryState(problem.value)
    elif seen:
        state = DeliveryState.seen
    elif emailed_at is not None:
        state = DeliveryState.emailed
    elif pending:
        state = DeliveryState.pending
    elif not message.email_fallback:
        state = DeliveryState.no_fallback
    elif not conversation.notify_email:
        state = DeliveryState.no_address
    else:
        state = DeliveryState.not_seen
    return MessageDelivery(message.seq, state, seen, emailed_at, pending, problem, error)

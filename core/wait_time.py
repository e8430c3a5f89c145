"""The expected wait for a new conversation: queue length, agents online and recent first-response times."""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.account_settings import load_settings
from core.business_hours import is_open
from core.clock import Clock, as_utc
from core.inactivity import aggregate_time
from core.models import Agent, AgentStatus, AuthorKind, Conversation, ConversationStatus, Message

RECENT_WINDOW = timedelta(days=7)
RECENT_SAMPLE = 50  # the latest first responses are the best guide; older ones describe another team day


@dataclass(frozen=True)
class WaitEstimate:
    team_online: bool
    agents_online: int
    queue_length: int
    seconds: int | None  # None: no estimate (team offline, or no recent first response to go by)


def recent_first_responses(session: Session, since: datetime) -> list[float]:
    """Seconds from a conversation's start to its first agent message, for the latest conversations answered."""
    first_reply = func.min(Message.created_at)
    rows = session.exec(
        select(Conversation.created_at, first_reply)
        .join(Message, col(Message.conversation_id) == Conversation.id)
        .where(Message.author_kind == AuthorKind.agent, Conversation.created_at >= since)
        .group_by(col(Conversation.id), col(Conversation.created_at))
        .order_by(col(Conversation.id).desc()).limit(RECENT_SAMPLE)
    )
    found = []
    for started, replied in rows:
        found.append(max(0.0, (aggregate_time(replied) - as_utc(started)).total_seconds()))
    return found


def estimate(session: Session, clock: Clock) -> WaitEstimate:
    """How long a new conversation will likely wait: the median first response, times the queue per agent."""
    now = clock.now()
    settings = load_settings(session)
    agents_online = int(
        session.exec(select(func.count()).select_from(Agent).where(Agent.status == AgentStatus.online)).one()
    )
    queue_length = int(session.exec(
        select(func.count()).select_from(Conversation).where(Conversation.status == ConversationStatus.queued,
                                                             col(Conversation.waiting_since).is_not(None))).one())
    team_online = agents_online > 0 and is_open(settings.business_hours, now)
    if not team_online:
        return WaitEstimate(False, agents_online, queue_length, None)
    responses = recent_first_responses(session, now - RECENT_WINDOW)
    if not responses:
        return WaitEstimate(True, agents_online, queue_length, None)
    # Each agent takes the queue in turn: the newcomer waits for its share of the queue, plus one response.
    rounds = math.ceil((queue_length + 1) / agents_online)
    return WaitEstimate(True, agents_online, queue_length, int(statistics.median(responses) * rounds))

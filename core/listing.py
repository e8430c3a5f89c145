"""Paged queue listings for the agent console: one filter, an optional search, a page of rows from indexed queries."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, cast, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from core.clock import Clock
from core.errors import InvalidInput
from core.i18n import _
from core.labels import EndUserRef, conversation_language, language_label
from core.models import Agent, AuthorKind, Channel, Conversation, ConversationStatus, EndUser, Message, row_id

PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
MAX_SEARCH_CHARS = 200
# Search by text scans message bodies; it stops after this many matching conversations.
MAX_SEARCH_MATCHES = 2_000

class QueueFilter(enum.StrEnum):
    all = "all"            # every conversation that is not pending or solved: queued and open
    mine = "mine"          # open, queued or pending conversations assigned to the agent
    unassigned = "unassigned"  # queued or open conversations without an assignee
    pending = "pending"
    solved = "solved"


_ACTIVE = [ConversationStatus.queued, ConversationStatus.open]


@dataclass(frozen=True)
class QueueRow:
    conversation_id: int
    public_id: str
    end_user_id: int
    end_user_name: str | None
    end_user_email: str | None
    status: ConversationStatus
    assignee_id: int | None
    assignee_name: str | None
    language: str | None
    last_message_channel: Channel | None
    waiting_since: datetime | None
    last_message_at: datetime | None
    unread_for_agents: int
    # Agent replies the end user has not seen that no email can carry: the conversation has no address.
    unemailable_replies: bool = False

    @property
    def end_user(self) -> EndUserRef:
        """The end user to name with core.labels.end_user_label."""
        return EndUserRef(self.end_user_id, self.end_user_name, self.end_user_email)


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    offset: int
    has_more: bool


def parse_filter(value: QueueFilter | str) -> QueueFilter:
    try:
        return QueueFilter(value)
    except ValueError:
        raise InvalidInput(_("Unknown queue filter {name!r}; use mine, unassigned, all, pending or solved.").format(
            name=value)) from None


class QueueListing:
    """Reads one page of the queue at a time; never loads every conversation."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def page(self, queue_filter: QueueFilter | str = QueueFilter.all, *, agent_id: int | None = None,
             search: str = "", offset: int = 0, limit: int = PAGE_SIZE) -> QueuePage:
        """Rows offset..offset+limit of the filter, oldest wait first (solved: most recently active first)."""
        queue_filter = parse_filter(queue_filter)
        if queue_filter is QueueFilter.mine and agent_id is None:
            raise InvalidInput(_("The 'mine' filter needs the agent it is for."))
        if offset < 0 or not 1 <= limit <= MAX_PAGE_SIZE:
            raise InvalidInput(
                _("A page starts at 0 or later and holds 1 to {limit} rows.").format(limit=MAX_PAGE_SIZE)
            )
        search = " ".join((search or "").split())[:MAX_SEARCH_CHARS]
        # Step 1: only ids, in index order, one more than asked to know whether another page follows.
        ids = self._page_ids(queue_filter, agent_id, search, offset, limit + 1)
        has_more = len(ids) > limit
        ids = ids[:limit]
        # Step 2: the details and unread counts of this page's rows only.
        return QueuePage(rows=self._rows(ids), offset=offset, has_more=has_more)

    def _page_ids(self, queue_filter: QueueFilter, agent_id: int | None, search: str, offset: int,
                  count: int) -> list[int]:
        """Ids offset..offset+count: waiting conversations by wait, then the others by last activity."""
        base = self._ids_query(queue_filter, agent_id, search)
        if queue_filter is QueueFilter.solved:
            query = base.order_by(col(Conversation.updated_at).desc(), col(Conversation.id).desc())
            return list(self.session.exec(query.offset(offset).limit(count)))
        waiting = (base.where(col(Conversation.waiting_since).is_not(None))
                   .order_by(col(Conversation.waiting_since), col(Conversation.id)))
        ids = list(self.session.exec(waiting.offset(offset).limit(count)))
        if len(ids) == count:
            return ids
        # The waiting ones ran out on this page: the rest comes from the conversations nobody waits on.
        waiting_total = offset + len(ids) if ids or offset == 0 else int(self.session.exec(
            select(func.count()).select_from(waiting.order_by(None).subquery())).one())
        answered = (base.where(col(Conversation.waiting_since).is_(None))
                    .order_by(col(Conversation.updated_at), col(Conversation.id)))
        rest = list(self.session.exec(answered.offset(max(0, offset - waiting_total)).limit(count - len(ids))))
        return ids + rest

    def waiting_count(self, limit: int = 10_000) -> int:
        """How many conversations wait for an agent (counted up to limit, so a huge queue stays cheap)."""
        inner = (select(Conversation.id)
                 .where(col(Conversation.status).in_(_ACTIVE), col(Conversation.waiting_since).is_not(None))
                 .limit(limit).subquery())
        return int(self.session.exec(select(func.count()).select_from(inner)).one())

    def _ids_query(self, queue_filter: QueueFilter, agent_id: int | None, search: str) -> SelectOfScalar[int]:
        # Saved conversations always have an id; the column is Optional only before an insert.
        query: SelectOfScalar[int] = select(Conversation.id)  # type: ignore[arg-type]
        if queue_filter is QueueFilter.all:
            query = query.where(col(Conversation.status).in_(_ACTIVE))
        elif queue_filter is QueueFilter.mine:
            query = query.where(Conversation.assignee_id == agent_id,
                                col(Conversation.status).in_([*_ACTIVE, ConversationStatus.pending]))
        elif queue_filter is QueueFilter.unassigned:
            query = query.where(col(Conversation.assignee_id).is_(None), col(Conversation.status).in_(_ACTIVE))
        elif queue_filter is QueueFilter.pending:
            query = query.where(Conversation.status == ConversationStatus.pending)
        else:
            query = query.where(Conversation.status == ConversationStatus.solved)
        if search:
            query = query.where(self._search_or_tags_condition(search))
        return query

    def _search_or_tags_condition(self, search: str) -> ColumnElement[bool]:
        """Words written #tag select conversations with all those tags (and the other words in their text); the
        whole search also matches literally, so "#4411" still finds an order number someone wrote."""
        tags, rest = split_tag_search(search)
        literal = self._search_condition(search)
        if not tags:
            return literal
        tagged = and_(*[tag_condition(tag) for tag in tags])
        if rest:
            tagged = and_(tagged, self._search_condition(rest))
        return or_(tagged, literal)

    def _search_condition(self, search: str) -> ColumnElement[bool]:
        # "!" escapes: a backslash would be read differently by SQLite and PostgreSQL string literals.
        pattern = "%" + search.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"
        by_end_user = (select(EndUser.id)
                       .where(or_(col(EndUser.name).ilike(pattern, escape="!"),
                                  col(EndUser.email).ilike(pattern, escape="!"))))
        by_text = (select(Message.conversation_id)
                   .where(col(Message.body).ilike(pattern, escape="!"))
                   .limit(MAX_SEARCH_MATCHES))
        return or_(col(Conversation.end_user_id).in_(by_end_user), col(Conversation.id).in_(by_text))

    def _rows(self, ids: list[int]) -> list[QueueRow]:
        if not ids:
            return []
        unread = unread_for_agents_expression()
        unemailable = (
            select(Message.id)
            .where(Message.conversation_id == Conversation.id, Message.seq > Conversation.end_user_read_seq,
                   Message.author_kind == AuthorKind.agent, Message.email_fallback == True)  # noqa: E712
            .correlate(Conversation).exists()
        )
        # Seven columns: beyond sqlmodel's typed select() overloads, so SQLAlchemy's select and execute().
        query = (
            sa_select(
                Conversation,
                col(EndUser.name),
                col(EndUser.email),
                col(EndUser.language),
                col(Agent.name),
                unread,
                and_(col(Conversation.notify_email).is_(None), unemailable),
            )
            .join(EndUser, col(EndUser.id) == Conversation.end_user_id)
            .outerjoin(Agent, and_(col(Agent.id) == Conversation.assignee_id))
            .where(col(Conversation.id).in_(ids))
        )
        found = {}
        for conversation, name, email, end_user_language, agent_name, unread_count, no_address in self.session.execute(
            query
        ):
            found[row_id(conversation)] = QueueRow(
                conversation_id=row_id(conversation), public_id=conversation.public_id,
                end_user_id=conversation.end_user_id, end_user_name=name, end_user_email=email,
                status=conversation.status, assignee_id=conversation.assignee_id, assignee_name=agent_name,
                language=language_label(conversation_language(end_user_language, conversation.language)),
                last_message_channel=conversation.last_message_channel,
                waiting_since=conversation.waiting_since, last_message_at=conversation.last_message_at,
                unread_for_agents=int(unread_count), unemailable_replies=bool(no_address),
            )
        return [found[i] for i in ids if i in found]


def split_tag_search(search: str) -> tuple[list[str], str]:
    """The tags (words written #tag) and the remaining text of a queue search."""
    tags = [word[1:].lower() for word in search.split() if word.startswith("#") and len(word) > 1]
    rest = " ".join(word for word in search.split() if not word.startswith("#"))
    return tags, rest


def tag_condition(tag: str) -> ColumnElement[bool]:
    """Conversations carrying tag: a match on the stored JSON list's text, the same on SQLite and PostgreSQL
    (tags are ASCII words without quotes, core.collaboration.clean_tag, so '"tag"' appears only as an element)."""
    pattern = '%"' + tag.replace("!", "!!").replace("%", "!%").replace("_", "!_") + '"%'
    return cast(col(Conversation.tags), Text).like(pattern, escape="!")


def unread_for_agents_expression() -> Any:
    """Per conversation row: end-user messages above the agents' read mark (a correlated count)."""
    return (
        select(func.count()).select_from(Message)
        .where(Message.conversation_id == Conversation.id, col(Message.seq) > Conversation.agent_read_seq,
               Message.author_kind == AuthorKind.end_user)
        .correlate(Conversation).scalar_subquery()
    )

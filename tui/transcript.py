"""Reading one conversation for the console: its messages with author, channel, time and delivery state
(core.delivery)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from core.articles import ArticleService
from core.attachments import AttachmentService
from core.clock import Clock
from core.collaboration import CollaborationService
from core.conversations import ConversationService
from core.delivery import DeliveryState, MessageDelivery, message_deliveries
from core.identity import IdentityService
from core.labels import end_user_label
from core.models import (
    Agent,
    Attachment,
    AuthorKind,
    Channel,
    Conversation,
    EmailOptOut,
    EndUser,
    Message,
    Rating,
    row_id,
)
from core.opt_outs import OptOutService
from tui.i18n import _

TRANSCRIPT_LIMIT = 100


@dataclass(frozen=True)
class FileView:
    """A file attached to a message, as the console lists it."""

    public_id: str
    name: str
    content_type: str
    size: int


def file_line(file: FileView) -> str:
    return _("{name} · {type} · {size} bytes").format(name=file.name, type=file.content_type, size=file.size)


@dataclass(frozen=True)
class MessageView:
    seq: int
    author_kind: AuthorKind
    author_name: str
    channel: Channel
    created_at: datetime
    body: str
    kind: str
    email_fallback: bool
    seen_by_end_user: bool
    emailed_at: datetime | None  # when a notification carrying it was sent
    email_problem: str | None    # "failed" or "bounced"
    email_error: str | None      # the failed job's reason
    email_pending: bool
    delivery: DeliveryState | None = None  # agent messages only (core.delivery)
    files: tuple[FileView, ...] = ()


@dataclass(frozen=True)
class NoteView:
    """An internal note: only agents see it; it stands after message after_seq."""

    after_seq: int
    author_name: str
    created_at: datetime
    body: str


@dataclass(frozen=True)
class ConversationView:
    conversation: Conversation
    end_user: EndUser
    assignee_name: str | None
    messages: list[MessageView]
    earlier: int  # messages before the ones shown
    # Other profiles that gave or proved the same address: the agent may merge them (core.identity).
    claimants: tuple[EndUser, ...] = ()
    # The notified address asked for no more emails (one-click or the unsubscribe mailto).
    opt_out: EmailOptOut | None = None
    # Internal notes placed among the messages shown (core.collaboration).
    notes: tuple[NoteView, ...] = ()
    # The end user's satisfaction rating, given once the conversation was solved (core.ratings).
    rating: Rating | None = None
    # Help-center articles the widget suggested to the end user, in order shown: (title, whether they opened it).
    articles: tuple[tuple[str, bool], ...] = ()

    @property
    def files(self) -> list[FileView]:
        """Every file shown in the transcript, newest first."""
        return [file for message in reversed(self.messages) for file in message.files]


def read_conversation(session: Session, clock: Clock, conversation_id: int,
                      limit: int = TRANSCRIPT_LIMIT) -> ConversationView:
    service = ConversationService(session, clock)
    conversation = service.get(conversation_id)
    end_user = service.end_user(conversation.end_user_id)
    after = max(0, conversation.last_seq - limit)
    messages = service.transcript(conversation_id, after_seq=after)
    notes = CollaborationService(session, clock).notes(conversation_id, after_seq=after)
    agent_ids = {m.author_agent_id for m in messages if m.author_agent_id} | (
        {conversation.assignee_id} if conversation.assignee_id else set()) | {n.author_agent_id for n in notes}
    names: dict[int | None, str] = (
        {a.id: a.name for a in session.exec(select(Agent).where(col(Agent.id).in_(list(agent_ids))))}
        if agent_ids
        else {}
    )
    deliveries = message_deliveries(session, conversation, messages)
    attached = AttachmentService(session, clock).of_messages([row_id(m) for m in messages])
    views = [_view(m, conversation, end_user, names, deliveries, attached.get(row_id(m), []))
             for m in messages]
    if end_user.id is None:
        raise ValueError("end_user has no id: it was not read from the database")
    claimants = tuple(IdentityService(session, clock).claimants(end_user.id))
    notified = conversation.notify_email or end_user.email
    opt_out = OptOutService(session, clock).get(notified) if notified else None
    note_views = tuple(NoteView(n.after_seq, names.get(n.author_agent_id, "?"), n.created_at, n.body) for n in notes)
    articles = tuple((shown["title"], shown["read"])
                     for shown in ArticleService(session, clock).articles_in_conversation(conversation_id))
    return ConversationView(conversation, end_user, names.get(conversation.assignee_id), views, after, claimants,
                            opt_out, note_views, session.get(Rating, conversation_id), articles)


def _view(message: Message, conversation: Conversation, end_user: EndUser, names: dict[int | None, str],
          deliveries: dict[int, MessageDelivery], attached: list[Attachment]) -> MessageView:
    if message.author_kind is AuthorKind.agent:
        author = names.get(message.author_agent_id, "?")
    elif message.author_kind is AuthorKind.end_user:
        author = end_user_label(end_user, _)
    else:
        author = ""
    delivery = deliveries.get(message.seq)
    return MessageView(
        seq=message.seq, author_kind=message.author_kind, author_name=author, channel=message.channel,
        created_at=message.created_at, body=message.body, kind=message.kind, email_fallback=message.email_fallback,
        seen_by_end_user=message.seq <= conversation.end_user_read_seq,
        emailed_at=delivery.emailed_at if delivery else None,
        email_problem=delivery.problem.value if delivery and delivery.problem else None,
        email_error=delivery.error if delivery else None, email_pending=bool(delivery and delivery.pending),
        delivery=delivery.state if delivery else None,
        files=tuple(FileView(a.public_id, a.name, a.content_type, a.size) for a in attached),
    )

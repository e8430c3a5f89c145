"""Following the event log from a worker thread: which conversations changed and what to tell the agent."""
from __future__ import annotations

from sqlmodel import Session, col, select

from core.events import EventLog
from core.models import Conversation, EndUser, Event, Message
from tui.i18n import _
from tui.messages import LiveChange, Notice
from tui.text import plain

BATCH = 500


def read_changes(session: Session, cursor: int) -> tuple[int, LiveChange | None]:
    """Events after cursor as one LiveChange (None when there are none), and the new cursor."""
    events = EventLog(session).after(cursor, limit=BATCH)
    if not events:
        return cursor, None
    last = events[-1].id
    assert last is not None  # read from the database
    return last, summarize(session, events)


def summarize(session: Session, events: list[Event]) -> LiveChange:
    change = LiveChange()
    started: list[int] = []
    answers: list[tuple[int, int, str]] = []
    held = 0
    for event in events:
        change.kinds.add(event.kind)
        if event.kind == "inbound.held":
            held += 1
        elif event.kind in ("sender.paused", "sender.resumed"):
            change.notices.append(_sender_notice(event))
        if event.conversation_id is None:
            change.global_change = True
            continue
        change.conversation_ids.add(event.conversation_id)
        payload = event.payload or {}
        if event.kind == "conversation.started":
            started.append(event.conversation_id)
        elif event.kind in ("notification.failed", "notification.bounced", "notification.retried",
                            "notification.sent"):
            change.global_change = True
        elif event.kind == "message.posted" and payload.get("author_kind") == "end_user":
            answers.append((event.conversation_id, int(payload.get("seq", 0)), payload.get("channel", "messaging")))
    if held:
        change.notices.append(Notice(_("{count} emails are held for review (F3: Mail).").format(count=held)))
    if started or answers:
        names = _end_user_names(session, {c for c in started} | {a[0] for a in answers})
        for conversation_id in started:
            change.notices.append(Notice(_("New conversation from {name}").format(
                name=names.get(conversation_id, "?")), conversation_id))
        for conversation_id, seq, channel in answers:
            body = session.exec(select(Message.body).where(Message.conversation_id == conversation_id,
                                                           Message.seq == seq)).first()
            template = (_("{name} answered via email: {text}") if channel == "email"
                        else _("{name} answered: {text}"))
            change.notices.append(Notice(template.format(name=names.get(conversation_id, "?"), text=plain(body)),
                                         conversation_id))
    return change


def _sender_notice(event: Event) -> Notice:
    """The sender pauses once per server-wide failure (not per email) and says so once, and once when it resumes."""
    payload = event.payload or {}
    if event.kind == "sender.paused":
        return Notice(_("Email sending is paused: {reason} Emails stay queued and go out by themselves once the "
                        "mail server accepts them again.").format(reason=plain(payload.get("reason") or "?", 400)))
    return Notice(_("Email sending resumed: the mail server {server} accepts emails again.").format(
        server=plain(payload.get("server") or "?", 100)))


def _end_user_names(session: Session, conversation_ids: set[int]) -> dict[int, str]:
    query = (select(Conversation.id, EndUser.name, EndUser.email)
             .join(EndUser, col(EndUser.id) == col(Conversation.end_user_id))
             .where(col(Conversation.id).in_(list(conversation_ids))))
    return {cid: plain(name or email or _("anonymous end user"), 40) for cid, name, email in session.exec(query)
            if cid is not None}

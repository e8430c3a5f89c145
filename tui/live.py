"""Following the event log from a worker thread: core.console_news reads what happened; this words it for the agent."""
from __future__ import annotations

from sqlmodel import Session

from core.console_news import (
    BATCH,
    ConversationArrived,
    ConversationTransferred,
    EmailsHeld,
    EndUserAnswered,
    News,
    SendingPaused,
    SendingResumed,
    read_news,
)
from core.labels import end_user_label
from core.models import Channel
from tui.i18n import _
from tui.messages import LiveChange, Notice
from tui.text import plain

__all__ = ["BATCH", "read_changes"]


def read_changes(session: Session, cursor: int, agent_id: int | None = None) -> tuple[int, LiveChange | None]:
    """Events after cursor as one LiveChange (None when there are none), and the new cursor.

    agent_id is the console's agent: news meant for one agent (a transfer to them) is told only to them."""
    news = read_news(session, cursor, limit=BATCH)
    if news is None:
        return cursor, None
    change = LiveChange(conversation_ids=news.conversation_ids, kinds=set(news.kinds),
                        global_change=news.global_change)
    change.notices = [notice(item) for item in news.news
                      if not isinstance(item, ConversationTransferred) or item.to_agent_id == agent_id]
    return news.cursor, change


def notice(item: News) -> Notice:
    """One piece of news as the toast an agent reads (shown with markup=False)."""
    if isinstance(item, EmailsHeld):
        return Notice(_("{count} emails are held for review (F3: Mail).").format(count=item.count))
    if isinstance(item, SendingPaused):
        # The sender pauses once per server-wide failure (not per email) and says so once, and once when it resumes.
        return Notice(_("Email sending is paused: {reason} Emails stay queued and go out by themselves once the "
                        "mail server accepts them again.").format(reason=plain(item.reason, 400)))
    if isinstance(item, SendingResumed):
        return Notice(_("Email sending resumed: the mail server {server} accepts emails again.").format(
            server=plain(item.server, 100)))
    name = plain(end_user_label(item.end_user, _), 40)
    if isinstance(item, ConversationTransferred):
        return Notice(_("{agent} transferred the conversation with {name} to you.").format(
            agent=plain(item.by_agent_name, 40), name=name), item.conversation_id)
    if isinstance(item, ConversationArrived):
        if item.channel is Channel.email and item.first_words is not None:
            return Notice(_("New conversation by email from {name}: {text}").format(
                name=name, text=plain(item.first_words)), item.conversation_id)
        return Notice(_("New conversation from {name}").format(name=name), item.conversation_id)
    if not isinstance(item, EndUserAnswered):
        raise TypeError(f"no notice for {type(item).__name__}")
    template = _("{name} answered via email: {text}") if item.channel is Channel.email else _("{name} answered: {text}")
    return Notice(template.format(name=name, text=plain(item.text)), item.conversation_id)


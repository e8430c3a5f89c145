"""Who is viewing or typing in a conversation: upserted ephemeral rows with expiry times, read by every process."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from core.account_settings import load_settings
from core.activity_rules import END_USER, TYPING_TTL, VIEWING_TTL, agent_participant, is_live, preview_text
from core.clock import Clock
from core.events import mark_typing_changed
from core.models import Activity, Agent, Conversation, EndUser
from core.transactions import transactional

# Rows nobody refreshed for this long are deleted by the next writer, so the table stays as small as the team.
_STALE_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class LiveActivity:
    """One person's live state in a conversation, as a follower shows it."""

    participant: str
    agent_id: int | None
    agent_name: str | None  # None for the end user
    typing: bool
    viewing: bool
    preview: str | None  # the end user's text, only while the account allows previews


class ActivityService:
    """Reports and reads activity. Writes are one short transaction each and never touch the event log: callers
    throttle them (core.activity_rules.ActivityThrottle). A change of an agent's typing is announced on commit
    (core.events: in process, and by NOTIFY on PostgreSQL) so widget servers read it then, not on a poll."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    @transactional
    def agent_active(self, conversation_id: int, agent_id: int, *, typing: bool | None) -> None:
        """The agent has the conversation open, typing a reply (True), not or no longer (False), or, for a
        refresh of "viewing" only, whatever they last reported (None)."""
        now = self.clock.now()
        if typing is not None:
            mark_typing_changed(self.session)
        self._upsert(conversation_id, agent_participant(agent_id), now, agent_id=agent_id,
                     typing_until=now + TYPING_TTL if typing else None, viewing_until=now + VIEWING_TTL,
                     keep_typing=typing is None)

    @transactional
    def end_user_typing(self, conversation_id: int, text: str) -> None:
        """The end user's text box holds text (empty: they cleared it or sent it). The text itself is kept only
        while the account's typing_preview setting is on, and then only its end (privacy: off by default)."""
        if not text.strip():
            self.left(conversation_id, END_USER)  # nothing to show: no row rather than an empty one
            return
        now = self.clock.now()
        preview = preview_text(text) if load_settings(self.session).typing_preview else None
        self._upsert(conversation_id, END_USER, now, agent_id=None, typing_until=now + TYPING_TTL,
                     viewing_until=None, preview=preview)

    @transactional
    def left(self, conversation_id: int, participant: str) -> None:
        """The participant closed the conversation: their row goes at once rather than at expiry."""
        if participant != END_USER:
            mark_typing_changed(self.session)
        self.session.execute(delete(Activity).where(col(Activity.conversation_id) == conversation_id,
                                                    col(Activity.participant) == participant))

    def _upsert(self, conversation_id: int, participant: str, now: datetime, *, agent_id: int | None,
                typing_until: datetime | None, viewing_until: datetime | None, preview: str | None = None,
                keep_typing: bool = False) -> None:
        values: dict[str, Any] = {"conversation_id": conversation_id, "participant": participant,
                                  "agent_id": agent_id, "typing_until": typing_until,
                                  "viewing_until": viewing_until, "preview": preview, "updated_at": now}
        # One statement that inserts or updates: two tabs of one end user may report at the same moment.
        dialect = self.session.get_bind().dialect.name
        if dialect == "postgresql":
            statement: Any = postgresql.insert(Activity).values(**values)
        elif dialect == "sqlite":
            statement = sqlite.insert(Activity).values(**values)
        else:  # core.database_url admits only these two
            raise ValueError(f"activity needs SQLite or PostgreSQL, not {dialect}")
        kept = {"conversation_id", "participant"} | ({"typing_until"} if keep_typing else set())
        updates = {key: statement.excluded[key] for key in values if key not in kept}
        self.session.execute(statement.on_conflict_do_update(
            index_elements=["conversation_id", "participant"], set_=updates))
        self.session.execute(delete(Activity).where(col(Activity.updated_at) < now - _STALE_AFTER))

    # --- reading ----------------------------------------------------------------------------------------------
    def live(self, conversation_id: int) -> list[LiveActivity]:
        """Everyone viewing or typing in the conversation now, agents by name; expired reports are left out."""
        now = self.clock.now()
        query = (select(Activity, Agent.name).outerjoin(Agent, col(Agent.id) == col(Activity.agent_id))
                 .where(Activity.conversation_id == conversation_id,
                        or_(col(Activity.typing_until) > now, col(Activity.viewing_until) > now))
                 .order_by(col(Activity.participant)))
        found = []
        for row, name in self.session.exec(query):
            typing = is_live(row.typing_until, now)
            found.append(LiveActivity(participant=row.participant, agent_id=row.agent_id, agent_name=name,
                                      typing=typing, viewing=is_live(row.viewing_until, now) or typing,
                                      preview=row.preview if typing else None))
        return found

    def agents_typing_now(self) -> set[int]:
        """Every conversation in which an agent is typing now."""
        return set(self.agents_typing_until())

    def agents_typing_until(self) -> dict[int, datetime]:
        """Every conversation in which an agent is typing now, with when the last of its typists' reports lapses:
        a few rows through the typing_until index, however many conversations the caller follows (a widget server
        with thousands of sockets intersects them itself, and reads again at the earliest lapse)."""
        query = select(Activity.conversation_id, Activity.typing_until).where(
            col(Activity.typing_until) > self.clock.now(), col(Activity.agent_id).is_not(None))
        found: dict[int, datetime] = {}
        for conversation_id, until in self.session.exec(query):
            if until is not None and (conversation_id not in found or until > found[conversation_id]):
                found[conversation_id] = until
        return found


def end_user_of(session: Session, conversation_id: int) -> EndUser | None:
    """The end user of a conversation (for naming them in "... is typing")."""
    query = select(EndUser).join(Conversation, col(Conversation.end_user_id) == col(EndUser.id)).where(
        Conversation.id == conversation_id)
    return session.exec(query).first()

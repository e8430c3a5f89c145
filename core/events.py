"""The append-only event log: written in the transaction of each change, followed by cursor from any process."""
from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import text
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from core.event_kinds import EventKind
from core.models import Event

# On PostgreSQL ids come from a sequence before commit, so a follower could see id 11 commit before id 10 and skip
# 10 for ever. So a transaction's events get their final ids only at its very end: under one transaction-scoped
# advisory lock, just before COMMIT, which serialises that last step (not the whole transaction) cluster-wide.
_PG_EVENT_LOCK_KEY = 0x7E11E
# Takes the event lock, renumbers the transaction's events from the sequence in the order they were recorded, and
# NOTIFYs the newest id: one round trip, so the lock is held for that statement and the COMMIT, not for three round
# trips and the client's scheduling between them. The lock is in an uncorrelated subquery of the WHERE clause (an
# initplan, run before the first row passes the filter), so no nextval() is taken before it; the target list's
# nextval() runs row by row in array order (WITH ORDINALITY, sorted; PostgreSQL evaluates volatile target-list
# functions after the sort).
_ORDER_AND_NOTIFY = text("""
WITH renumbered AS (
    UPDATE event SET id = fresh.id
    FROM (SELECT t.old, nextval(pg_get_serial_sequence('event', 'id')) AS id
          FROM unnest(CAST(:ids AS bigint[])) WITH ORDINALITY AS t(old, n)
          WHERE (SELECT 1 FROM (SELECT pg_advisory_xact_lock(:key)) AS taken) = 1
          ORDER BY t.n) AS fresh
    WHERE event.id = fresh.old
    RETURNING event.id)
SELECT pg_notify(:channel, (SELECT max(id) FROM renumbered)::text)
""")
# The channel event writers NOTIFY on PostgreSQL and core.event_push LISTENs to; the payload is an event id only.
PUSH_CHANNEL = "threadline_events"
# session.info key: the events this transaction recorded (Event rows, in the order recorded).
RECORDED = "threadline_recorded_events"
# session.info key: this transaction started, refreshed or ended an agent's typing (core.activity).
TYPING = "threadline_typing_changed"
# The payload of a typing notification on PUSH_CHANNEL (an event notification's payload is a number).
TYPING_PAYLOAD = "typing"
# How often followers still read the log while push works: only a safety net for a notification that got lost.
SAFETY_POLL_SECONDS = 5.0


def record_event(
    session: Session, now: datetime, kind: EventKind, conversation_id: int | None = None, **payload: Any
) -> Event:
    """Append one event in the caller's transaction (it commits with the change it describes). On PostgreSQL its id
    is provisional until the commit (see _order_events): callers must not keep it."""
    event = Event(conversation_id=conversation_id, kind=EventKind(kind).value, payload=payload, created_at=now)
    session.add(event)
    session.info.setdefault(RECORDED, []).append(event)
    return event


def mark_typing_changed(session: Session) -> None:
    """The caller's transaction changes whether an agent is typing: followers hear of it when it commits."""
    session.info[TYPING] = True


def _forget_recorded(session: Session) -> None:
    session.info.pop(RECORDED, None)
    session.info.pop(TYPING, None)


def recorded_events(session: Session) -> bool:
    """Whether the session's open transaction recorded events (so its commit is news for followers)."""
    return bool(session.info.get(RECORDED))


def changed_typing(session: Session) -> bool:
    """Whether the session's open transaction changed an agent's typing (so its commit is news for widgets)."""
    return bool(session.info.get(TYPING))


def _notify_followers(session: Session) -> None:
    """On PostgreSQL, give the transaction's events their final ids in commit order and tell every LISTENing
    process the newest one.

    PostgreSQL delivers a NOTIFY only when (and if) its transaction commits, so followers never hear of an event
    they cannot read yet, and a rollback tells nobody. The payload is the newest of the transaction's final ids
    (handed out under the event lock, so newer than every id committed before) and nothing else: notifications
    are visible to any role on the database. A change of an agent's typing (not in the event log: it expires
    rather than happens) is told with the word "typing".
    """
    postgresql = session.get_bind().dialect.name == "postgresql"
    if session.info.get(TYPING) and postgresql:
        session.execute(text("SELECT pg_notify(:channel, :payload)"),
                        {"channel": PUSH_CHANNEL, "payload": TYPING_PAYLOAD})
    if not postgresql or not session.info.get(RECORDED):
        return
    _order_events(session, session.info[RECORDED])


def _order_events(session: Session, events: list[Event]) -> None:
    """Renumber the transaction's events from the sequence under the event lock, held until COMMIT, and NOTIFY.

    Taking the lock at the first event instead (as this once did) held it through the rest of the transaction:
    the reactions, every later statement and the client's own scheduling, and on a busy machine writers in every
    process queued behind it (measured: three quarters of a widget message POST was waiting for that lock). Then
    lock, renumbering and NOTIFY were three round trips, and under load a third of a POST still waited for the
    lock (its holder waiting for a core between them): now they are one statement (_ORDER_AND_NOTIFY) and the
    COMMIT. The provisional ids are never seen by anyone: they are renumbered before the rows become visible.
    """
    session.flush()
    provisional = [event.id for event in events if event.id is not None]
    if not provisional:
        return
    session.execute(_ORDER_AND_NOTIFY, {"ids": provisional, "key": _PG_EVENT_LOCK_KEY, "channel": PUSH_CHANNEL})
    for event in events:  # their ids are stale now: keep them from being refreshed by the old key
        if event in session:
            session.expunge(event)


sa_event.listen(OrmSession, "before_commit", _notify_followers)
# What the transaction recorded ends with it.
sa_event.listen(OrmSession, "after_commit", _forget_recorded)
sa_event.listen(OrmSession, "after_rollback", _forget_recorded)


class EventLog:
    """Reads the event log after a cursor."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def after(self, cursor: int, limit: int = 500, conversation_id: int | None = None) -> list[Event]:
        query = select(Event).where(col(Event.id) > cursor)
        if conversation_id is not None:
            query = query.where(Event.conversation_id == conversation_id)
        return list(self.session.exec(query.order_by(col(Event.id)).limit(limit)))

    def latest_id(self) -> int:
        last = self.session.exec(select(Event.id).order_by(col(Event.id).desc()).limit(1)).first()
        return last or 0


class Wakeup:
    """An in-process nudge for followers of the event log; only an optimisation over polling by cursor.

    On PostgreSQL core.event_push also nudges it when another process commits events; while that push connection
    is up (`pushed`), followers poll only every SAFETY_POLL_SECONDS (poll_interval()).
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._generation = 0
        self._listeners: list[Any] = []
        self._typing_listeners: list[Any] = []
        self.pushed = False

    def poll_interval(self, fast: float) -> float:
        """How long a follower may wait between reads: fast without push, the slow safety poll with it."""
        return max(fast, SAFETY_POLL_SECONDS) if self.pushed else fast

    def notify(self) -> None:
        with self._condition:
            self._generation += 1
            self._condition.notify_all()
        _call_each(self._listeners)

    def subscribe(self, listener: Any) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Any) -> None:
        _discard(self._listeners, listener)

    def notify_typing(self) -> None:
        """An agent started, refreshed or stopped typing (in this process, or in another one on PostgreSQL)."""
        _call_each(self._typing_listeners)

    def subscribe_typing(self, listener: Any) -> None:
        self._typing_listeners.append(listener)

    def unsubscribe_typing(self, listener: Any) -> None:
        _discard(self._typing_listeners, listener)

    @property
    def generation(self) -> int:
        """How many nudges so far: read it before reading the event log, and pass it to wait(since=...)."""
        return self._generation

    def wait(self, timeout: float, since: int | None = None) -> bool:
        """Wait for a nudge, or timeout; True when nudged.

        since: the generation read before the caller's last read of the event log. A nudge that came during that
        read then returns at once; without it, that nudge is lost and its events wait for the next poll (the safety
        poll is 5 s with push).
        """
        with self._condition:
            start = self._generation if since is None else since
            return self._condition.wait_for(lambda: self._generation != start, timeout)


def _call_each(listeners: list[Any]) -> None:
    for listener in list(listeners):
        try:
            listener()
        except Exception:  # noqa: BLE001, S110 - a listener's failure must not break the writer
            pass


def _discard(listeners: list[Any], listener: Any) -> None:
    if listener in listeners:
        listeners.remove(listener)


# One per process: services call notify() after a commit; followers wait on it between polls.
wakeup = Wakeup()

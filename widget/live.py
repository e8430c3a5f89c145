"""Live updates for WebSockets: one thread per server follows the event log and fans new messages out to sockets."""
from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import defaultdict
from typing import Any

from sqlalchemy.pool import PoolProxiedConnection
from sqlmodel import col, select

from core.activity import ActivityService
from core.clock import Clock, SystemClock
from core.db import Database
from core.event_kinds import EventKind
from core.events import EventLog, Wakeup
from core.models import Agent, ConversationStatus, Message
from widget.actions import AttachmentLinks, MessageJson, message_json, stored_id

log = logging.getLogger(__name__)

# Event kinds a widget cares about; everything else only moves the cursor.
_MESSAGE = EventKind.message_posted
_READ = EventKind.read_end_user
# Blocking is an end user's event (no conversation): every socket of theirs, in any process, is closed on it.
_BLOCKED = EventKind.end_user_blocked
_STATUS = EventKind.conversation_status
_SOLVED = ConversationStatus.solved.value
# How often the feed reads who is typing (core.activity) when nobody tells it: typing is not in the event log.
# Writers in this process (and, on PostgreSQL, in any process) announce a change, and the feed reads again when the
# earliest report lapses; without push (SQLite, other processes) it polls: reports are refreshed every 2 s and
# live 6 s, so half a second is ample.
ACTIVITY_POLL_SECONDS = 0.5
_LATEST_EVENT = "SELECT max(id) FROM event"


class Subscriber:
    """One socket's inbox: the follower thread puts items, the socket's task takes them on its own loop.

    end_user_id is whose socket it is, so an item {"type": "blocked"} reaches it when that end user is blocked.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, end_user_id: int | None = None) -> None:
        self.loop = loop
        self.end_user_id = end_user_id
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def deliver(self, item: dict[str, Any]) -> None:
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # the socket's loop has closed
            pass


class ConversationFeed:
    """Follows the event log by cursor in one thread, nudged by core.events.wakeup, polling as a fallback.

    Changes in this process arrive as soon as they commit; on PostgreSQL other processes' commits arrive by push
    (core.event_push nudges the same wakeup) and the poll slows to the safety interval while push works. Without
    push (SQLite, or the LISTEN connection lost) the poll interval bounds the delay for other processes' changes.
    One query per batch serves every socket, however many there are, and an idle poll is a single max(id) on a kept
    connection.
    """

    def __init__(self, db: Database, wakeup: Wakeup, poll_interval: float = 0.02, clock: Clock | None = None,
                 activity_interval: float = ACTIVITY_POLL_SECONDS, links: AttachmentLinks | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.activity_interval = activity_interval
        self._typing: set[int] = set()  # conversations where an agent is typing, as last pushed
        self._typing_news = threading.Event()  # someone announced a change of typing: read it
        self._typing_read_at = -math.inf  # monotonic time of the last read of typing
        self._typing_lapse_at = math.inf  # monotonic time the earliest report seen then lapses
        self.typing_reads = 0  # reads of the activity table, for tests and benches
        self.links = links  # signs the download links of pushed messages' attachments
        self.wakeup = wakeup
        self.poll_interval = poll_interval
        self._subscribers: dict[int, set[Subscriber]] = defaultdict(set)
        self._lock = threading.Lock()
        self._nudge = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._probe: PoolProxiedConnection | None = None
        self.cursor = 0

    # --- subscriptions (called from the event loop) -------------------------------------------------------
    def subscribe(self, conversation_id: int, subscriber: Subscriber) -> None:
        self.start()
        with self._lock:
            first = not self._subscribers
            self._subscribers[conversation_id].add(subscriber)
            if conversation_id in self._typing:  # a socket that joins mid-reply learns it at once
                subscriber.deliver({"type": "typing", "typing": True})
        if first:  # nobody was watching, so typing was not followed: read it now
            self._typing_changed()

    def unsubscribe(self, conversation_id: int, subscriber: Subscriber) -> None:
        with self._lock:
            subscribers = self._subscribers.get(conversation_id)
            if subscribers is not None:
                subscribers.discard(subscriber)
                if not subscribers:
                    del self._subscribers[conversation_id]

    def subscriber_count(self, conversation_id: int) -> int:
        with self._lock:
            return len(self._subscribers.get(conversation_id, ()))

    # --- the thread ---------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start following (once); returns when the cursor is set, so nothing committed after this call is missed."""
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="threadline-widget-feed", daemon=True)
            self._thread.start()
        self._started.wait(10)

    def stop(self) -> None:
        self._stop.set()
        self._nudge.set()
        thread = self._thread
        if thread is not None:
            thread.join(5)
        self.wakeup.unsubscribe(self._nudge.set)
        self.wakeup.unsubscribe_typing(self._typing_changed)

    def _typing_changed(self) -> None:
        self._typing_news.set()
        self._nudge.set()

    def _run(self) -> None:
        self.wakeup.subscribe(self._nudge.set)
        self.wakeup.subscribe_typing(self._typing_changed)
        try:
            with self.db.read_session() as session:
                self.cursor = EventLog(session).latest_id()
        finally:
            self._started.set()
        while not self._stop.is_set():
            wait = min(self.wakeup.poll_interval(self.poll_interval), max(0.0, self._typing_due() - time.monotonic()))
            nudged = self._nudge.wait(wait)
            # Cleared before reading, so a commit that lands during the read nudges the next round.
            self._nudge.clear()
            try:
                if self._typing_news.is_set() or time.monotonic() >= self._typing_due():
                    self._typing_news.clear()  # before reading, like the nudge
                    self._follow_typing()
                if nudged or self._has_news():
                    while self._follow_once():
                        pass
            except Exception:  # keep following: a dropped database connection must not end live updates
                log.exception("following the event log failed; retrying")
                self._stop.wait(1.0)
        if self._probe is not None:
            self._probe.close()

    def _has_news(self) -> bool:
        """Whether another process committed events after the cursor: one indexed max() on a kept DBAPI
        connection, so polling often (for the agent console's replies) costs next to nothing while idle."""
        if self._probe is None:
            self._probe = self.db.engine.raw_connection()
        try:
            cursor = self._probe.cursor()
            try:
                cursor.execute(_LATEST_EVENT)
                row = cursor.fetchone()
                latest = (row[0] if row else 0) or 0
            finally:
                cursor.close()
            self._probe.rollback()  # end the read transaction (PostgreSQL), so the next probe sees new commits
        except Exception:
            self._probe.invalidate()
            self._probe = None
            raise
        return latest > self.cursor

    def _follow_once(self) -> bool:
        """Read one batch after the cursor and deliver it; True when there may be more."""
        with self.db.read_session() as session:
            events = EventLog(session).after(self.cursor, limit=500)
            if not events:
                return False
            with self._lock:
                watched = set(self._subscribers)
                # Only a block needs the end users behind the sockets: walking every socket for each batch cost
                # the feed thread most of its time while thousands of sockets connected (each one an event).
                watched_end_users = self._watched_end_users() if any(e.kind == _BLOCKED for e in events) else {}
            message_ids = [e.payload.get("message_id") for e in events
                           if e.kind == _MESSAGE and e.conversation_id in watched]
            messages: dict[int, MessageJson] = {}
            if message_ids:
                query = (select(Message, Agent.name).where(col(Message.id).in_(message_ids))
                         .outerjoin(Agent, col(Agent.id) == col(Message.author_agent_id)))
                rows = list(session.exec(query))
                files = self.links.of_messages(session, [stored_id(m) for m, _n in rows]) if self.links else {}
                for message, agent_name in rows:
                    messages[stored_id(message)] = message_json(message, agent_name, files.get(stored_id(message)))
            self.cursor = stored_id(events[-1])
            by_conversation: dict[int, list[dict[str, Any]]] = defaultdict(list)
            for event in events:
                if event.kind == _BLOCKED:
                    # In log order with the messages, so nothing written after the block is pushed first.
                    blocked_id = event.payload.get("end_user_id")
                    for conversation_id in watched_end_users.get(blocked_id, ()) if isinstance(blocked_id, int) else ():
                        by_conversation[conversation_id].append({"type": "blocked"})
                    continue
                if event.conversation_id not in watched:
                    continue
                if event.kind == _MESSAGE:
                    message_id = event.payload.get("message_id")
                    posted = messages.get(message_id) if isinstance(message_id, int) else None
                    if posted is not None:
                        by_conversation[event.conversation_id].append({"type": "message", "message": posted})
                elif event.kind == _READ:
                    by_conversation[event.conversation_id].append({"type": "read", "seq": event.payload.get("seq")})
                elif event.kind == _STATUS and _SOLVED in (event.payload.get("status"), event.payload.get("previous")):
                    # Only solving and reopening concern the widget: they show and hide "How did we do?".
                    by_conversation[event.conversation_id].append(
                        {"type": "status", "status": event.payload.get("status")})
        with self._lock:
            targets = {cid: list(self._subscribers.get(cid, ())) for cid in by_conversation}
        for conversation_id, items in by_conversation.items():
            for subscriber in targets[conversation_id]:
                for item in items:
                    subscriber.deliver(item)
        return len(events) == 500

    def _typing_due(self) -> float:
        """When to read typing next: when the earliest report seen lapses (nobody announces that), and without
        push also on the poll. With push every start, refresh and stop is announced, and a LISTEN connection that
        comes back announces once, so there is nothing to poll for (an idle server reads no activity at all)."""
        if self.wakeup.pushed:
            return self._typing_lapse_at
        return min(self._typing_lapse_at, self._typing_read_at + self.activity_interval)

    def _follow_typing(self) -> None:
        """Push {"type": "typing"} to the sockets of conversations where an agent started or stopped typing.

        Every conversation where an agent types is kept, watched here or not, so a socket that joins later learns
        it at once (subscribe); the first socket of an idle server asks for a read."""
        self._typing_read_at = time.monotonic()
        with self._lock:
            if not self._subscribers:
                self._typing = set()
                self._typing_lapse_at = math.inf
                return
        self.typing_reads += 1
        with self.db.read_session() as session:
            # Not an IN list of every followed conversation: with thousands of sockets that query, twice a
            # second, held up message delivery on this one thread.
            until = ActivityService(session, self.clock).agents_typing_until()
        now = self.clock.now()
        typing = set(until)
        lapses = [max(0.0, (lapse - now).total_seconds()) for lapse in until.values()]
        self._typing_lapse_at = self._typing_read_at + min(lapses) + 0.01 if lapses else math.inf
        with self._lock:
            changed = typing ^ self._typing
            self._typing = typing
            targets = {cid: list(self._subscribers.get(cid, ())) for cid in changed}
        for conversation_id, subscribers in targets.items():
            for subscriber in subscribers:
                subscriber.deliver({"type": "typing", "typing": conversation_id in typing})

    def _watched_end_users(self) -> dict[int, set[int]]:
        """end user id -> the conversations their sockets follow (call with the lock held)."""
        found: dict[int, set[int]] = defaultdict(set)
        for conversation_id, subscribers in self._subscribers.items():
            for subscriber in subscribers:
                if subscriber.end_user_id is not None:
                    found[subscriber.end_user_id].add(conversation_id)
        return found

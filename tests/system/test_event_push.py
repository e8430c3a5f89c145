"""Push on PostgreSQL: another process's commit reaches this process's widget feed by NOTIFY, also after the LISTEN
connection was killed on the server."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import text

from core.agents import AgentService
from core.clock import SystemClock
from core.conversations import ConversationService
from core.db import Database
from core.event_kinds import EventKind
from core.event_push import EventPush
from core.events import Wakeup, record_event
from tests.system.processes import ROOT
from widget.live import ConversationFeed, Subscriber

postgresql_only = pytest.mark.skipif(
    not os.environ.get("THREADLINE_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="needs THREADLINE_TEST_DATABASE_URL=postgresql+psycopg://... (tests/run sets it in its PostgreSQL phase)")

# Far longer than the test may take: a message that arrives came by push, not by the feed's own poll.
NO_POLL_SECONDS = 600.0

# An agent replying from another process, as a console would.
_AGENT_REPLY = """
import sys
from core.clock import SystemClock
from core.conversations import ConversationService
from core.db import Database
db = Database(sys.argv[1])
with db.session() as session:
    ConversationService(session, SystemClock()).post_agent_message(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
db.dispose()
"""


def _reply_from_another_process(db: Database, conversation_id: int, agent_id: int, body: str) -> None:
    url = db.engine.url.render_as_string(hide_password=False)
    subprocess.run([sys.executable, "-c", _AGENT_REPLY, url, str(conversation_id), str(agent_id), body],
                   cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True, timeout=60)


def _conversation(db: Database) -> tuple[int, int]:
    clock = SystemClock()
    with db.session() as session:
        agent = AgentService(session, clock).add("ana", "Ana Agent")
        service = ConversationService(session, clock)
        end_user = service.create_end_user("Ann")
        conversation = service.start_conversation(end_user.id)
        assert agent.id is not None and conversation.id is not None
        return conversation.id, agent.id


async def _next_message(subscriber: Subscriber, timeout: float) -> str:
    while True:
        item = await asyncio.wait_for(subscriber.queue.get(), timeout)
        if item["type"] == "message":
            return str(item["message"]["body"])


def _wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@postgresql_only
def test_a_reply_committed_in_another_process_is_pushed_even_after_the_listen_connection_was_killed(db: Database):
    conversation_id, agent_id = _conversation(db)
    wakeup = Wakeup()
    push = EventPush(db.engine, wakeup, backoff_base=0.05, backoff_cap=0.5)
    feed = ConversationFeed(db, wakeup, poll_interval=NO_POLL_SECONDS)
    push.start()
    try:
        assert push.wait_listening(10) and wakeup.pushed

        async def scenario() -> None:
            subscriber = Subscriber(asyncio.get_running_loop())
            await asyncio.to_thread(feed.subscribe, conversation_id, subscriber)
            await asyncio.to_thread(_reply_from_another_process, db, conversation_id, agent_id, "first, by push")
            assert await _next_message(subscriber, 20) == "first, by push"

            # The server ends the LISTEN connection (a restart, a failover, an idle-session killer).
            first_backend = push.backend_pid
            with db.engine.begin() as connection:
                assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first_backend}).scalar()
            assert await asyncio.to_thread(_wait_until, lambda: push.connects >= 2 and push.listening, 20)
            assert push.backend_pid != first_backend

            await asyncio.to_thread(_reply_from_another_process, db, conversation_id, agent_id, "second, by push")
            assert await _next_message(subscriber, 20) == "second, by push"

        asyncio.run(scenario())
        assert push.notifications >= 2
    finally:
        feed.stop()
        push.stop()
    assert not wakeup.pushed  # stopped: followers would poll at their own pace again


@postgresql_only
def test_a_commit_notifies_only_once_it_is_committed_and_a_rollback_notifies_nobody(db: Database):
    wakeup = Wakeup()
    push = EventPush(db.engine, wakeup)
    push.start()
    try:
        assert push.wait_listening(10)
        clock = SystemClock()
        with db.session() as session:
            AgentService(session, clock).add("bo", "Bo Agent")
        assert _wait_until(lambda: push.latest_id > 0, 10)
        committed = push.latest_id
        with db.session() as session:
            assert committed == session.execute(text("SELECT max(id) FROM event")).scalar()
        with db.session() as session:
            record_event(session, clock.now(), EventKind.settings_changed, None, key="brand_name", value="x")
            session.flush()
            session.rollback()  # the change is abandoned
        # A later commit's notification arrives; nothing arrived for the rolled-back one in between.
        with db.session() as session:
            AgentService(session, clock).add("di", "Di Agent")
        assert _wait_until(lambda: push.latest_id > committed, 10)
        assert push.notifications == 2
    finally:
        push.stop()


def test_on_sqlite_there_is_nothing_to_listen_to(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'threadline.db'}")
    push = EventPush(database.engine, Wakeup())
    push.start()
    assert push.state() == "off" and not push.enabled
    push.stop()
    database.dispose()


# An agent starting, then stopping, to type in another process, as a console does; its clock is set back so that
# the report lapses a moment after it is written (a typist who stops reporting, e.g. whose console died).
_AGENT_TYPES = """
import sys
from datetime import timedelta
from core.activity import ActivityService
from core.activity_rules import TYPING_TTL
from core.clock import FixedClock, SystemClock
from core.db import Database
db = Database(sys.argv[1])
conversation_id, agent_id, action = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
lapse = timedelta(seconds=float(sys.argv[5]))
clock = FixedClock(SystemClock().now() - TYPING_TTL + lapse)
with db.session() as session:
    activity = ActivityService(session, clock)
    if action == "leave":
        activity.left(conversation_id, f"agent:{agent_id}")
    else:
        activity.agent_active(conversation_id, agent_id, typing=action == "type")
db.dispose()
"""


def _typing_from_another_process(db: Database, conversation_id: int, agent_id: int, action: str,
                                 lapse_seconds: float = 60.0) -> None:
    url = db.engine.url.render_as_string(hide_password=False)
    subprocess.run([sys.executable, "-c", _AGENT_TYPES, url, str(conversation_id), str(agent_id), action,
                    str(lapse_seconds)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True, timeout=60)


async def _next_typing(subscriber: Subscriber, timeout: float) -> bool:
    while True:
        item = await asyncio.wait_for(subscriber.queue.get(), timeout)
        if item["type"] == "typing":
            return bool(item["typing"])


@postgresql_only
def test_an_agent_typing_in_another_process_is_pushed_and_its_lapse_is_read_when_due_not_polled(db: Database):
    """Typing is not in the event log; on PostgreSQL it is announced (NOTIFY "typing") so an idle widget server
    does not poll the activity table, and a report that lapses is read when it lapses."""
    conversation_id, agent_id = _conversation(db)
    wakeup = Wakeup()
    push = EventPush(db.engine, wakeup, backoff_base=0.05, backoff_cap=0.5)
    # Without push this feed would read typing 20 times a second.
    feed = ConversationFeed(db, wakeup, poll_interval=NO_POLL_SECONDS, activity_interval=0.05)
    push.start()
    try:
        assert push.wait_listening(10)

        async def scenario() -> None:
            subscriber = Subscriber(asyncio.get_running_loop())
            await asyncio.to_thread(feed.subscribe, conversation_id, subscriber)
            await asyncio.sleep(1.0)  # idle, with a socket: one read when it subscribed, none after
            assert feed.typing_reads == 1
            await asyncio.to_thread(_typing_from_another_process, db, conversation_id, agent_id, "type")
            assert await _next_typing(subscriber, 10) is True
            await asyncio.to_thread(_typing_from_another_process, db, conversation_id, agent_id, "stop")
            assert await _next_typing(subscriber, 10) is False
            await asyncio.to_thread(_typing_from_another_process, db, conversation_id, agent_id, "type")
            assert await _next_typing(subscriber, 10) is True
            await asyncio.to_thread(_typing_from_another_process, db, conversation_id, agent_id, "leave")
            assert await _next_typing(subscriber, 10) is False

            # Nobody says anything when a report lapses: the feed reads again at the lapse it saw.
            await asyncio.to_thread(_typing_from_another_process, db, conversation_id, agent_id, "type", 1.0)
            assert await _next_typing(subscriber, 10) is True
            assert await _next_typing(subscriber, 5) is False

        asyncio.run(scenario())
        assert push.typing_notifications >= 5
    finally:
        feed.stop()
        push.stop()

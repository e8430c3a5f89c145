"""Two writers on one SQLite file (or PostgreSQL): seqs stay contiguous and the event log stays in commit order."""
from __future__ import annotations

import random
import threading
import time

from sqlalchemy import event as sa_event

from core.agents import AgentService
from core.conversations import ConversationService
from core.db import Database
from core.event_kinds import EventKind
from core.events import EventLog, record_event


def test_two_threads_posting_get_contiguous_unique_seqs(db, clock):
    with db.session() as session:
        service = ConversationService(session, clock)
        conversation_id = service.start_conversation(service.create_end_user("Eve").id).id
    errors: list[BaseException] = []
    per_thread = 40

    def writer(name: str) -> None:
        try:
            with db.session() as session:
                service = ConversationService(session, clock)
                for n in range(per_thread):
                    service.post_end_user_message(conversation_id, f"{name} {n}")
        except BaseException as exc:  # noqa: BLE001 - surfaced below: a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with db.read_session() as session:
        service = ConversationService(session, clock)
        seqs = [m.seq for m in service.transcript(conversation_id)]
        assert seqs == list(range(1, 2 * per_thread + 1))
        # Each writer's own messages keep their order.
        for name in ("a", "b"):
            mine = [m.body for m in service.transcript(conversation_id) if m.body.startswith(name)]
            assert mine == [f"{name} {n}" for n in range(per_thread)]
        events = [e for e in EventLog(session).after(0) if e.kind == "message.posted"]
        assert [e.payload["seq"] for e in events] == seqs  # ids follow commit order


def test_two_agents_taking_next_at_once_get_different_conversations(db, clock):
    with db.session() as session:
        agents = [AgentService(session, clock).add(handle, handle.title()).id for handle in ("ana", "ben")]
        service = ConversationService(session, clock)
        waiting = []
        for name in ("Eve", "Finn"):
            conversation = service.start_conversation(service.create_end_user(name).id)
            service.post_end_user_message(conversation.id, "help")
            waiting.append(conversation.id)
            clock.advance(60)
    barrier = threading.Barrier(2)
    taken: dict[int, int | None] = {}
    errors: list[BaseException] = []

    def take(agent_id: int) -> None:
        try:
            with db.session() as session:
                service = ConversationService(session, clock)
                barrier.wait(timeout=10)
                conversation = service.take_next(agent_id)
                taken[agent_id] = conversation.id if conversation else None
        except BaseException as exc:  # noqa: BLE001 - surfaced below: a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=take, args=(agent_id,)) for agent_id in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(taken.values()) == sorted(waiting)  # each agent got one, and not the same one
    with db.session() as session:
        service = ConversationService(session, clock)
        for agent_id, conversation_id in taken.items():
            assert service.get(conversation_id).assignee_id == agent_id
        assert service.take_next(agents[0]) is None  # nobody waits any more


def test_a_follower_reading_by_cursor_while_many_write_at_once_misses_no_event(db, clock):
    """Writers in four threads post to four conversations (no row lock orders them) while a follower reads the log
    by cursor the whole time, as every widget server and console does. Each writer dawdles after its rows are
    written and again just before COMMIT (as a descheduled process would): if ids could commit out of order, the
    follower would step past an id that commits later and never read it."""
    with db.session() as session:
        service = ConversationService(session, clock)
        conversations = [service.start_conversation(service.create_end_user(f"User {n}").id).id for n in range(4)]
    done = threading.Event()
    errors: list[BaseException] = []
    rng = random.Random(7)

    def dawdle(*_args: object) -> None:
        time.sleep(rng.random() * 0.004)

    # Patient writers: on SQLite they queue for one write lock, each dawdling while it holds it, and on a busy
    # 2-core machine the default wait for the lock ran out. What is tested is order, not waiting.
    writers_db = Database(db.engine.url.render_as_string(hide_password=False), write_timeout=120)

    def writer(conversation_id: int) -> None:
        try:
            with writers_db.session() as session:
                sa_event.listen(session, "after_flush", dawdle)
                sa_event.listen(session, "before_commit", dawdle)
                service = ConversationService(session, clock)
                for n in range(25):
                    service.post_end_user_message(conversation_id, f"message {n}")
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    seen: list[int] = []

    def follower() -> None:
        cursor = 0
        while True:
            finished = done.is_set()
            with db.read_session() as session:
                events = EventLog(session).after(cursor)
            seen.extend(e.id for e in events if e.id is not None)
            cursor = seen[-1] if seen else cursor
            if finished and not events:
                return

    reader = threading.Thread(target=follower)
    reader.start()
    writers = [threading.Thread(target=writer, args=(c,)) for c in conversations]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    reader.join(30)
    writers_db.dispose()
    assert errors == []
    with db.read_session() as session:
        every = [e.id for e in EventLog(session).after(0, limit=10_000)]
    assert len(every) >= 100
    assert seen == every  # each event once, in id order, none stepped over



def test_events_of_one_transaction_keep_the_order_they_were_recorded_in(db, clock):
    """Renumbering at commit (PostgreSQL) hands out the new ids in the order the events were recorded."""
    with db.session() as session:
        service = ConversationService(session, clock)
        conversation_id = service.start_conversation(service.create_end_user("Order").id).id
        cursor = EventLog(session).latest_id()
    with db.session() as session:
        for n in range(12):
            record_event(session, clock.now(), EventKind.conversation_status, conversation_id, n=n)
        session.commit()
    with db.read_session() as session:
        events = EventLog(session).after(cursor)
    assert [e.payload["n"] for e in events] == list(range(12))
    assert [e.id for e in events] == sorted(e.id for e in events)

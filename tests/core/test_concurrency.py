"""Two writers on one SQLite file (or PostgreSQL): seqs stay contiguous and the event log stays in commit order."""
from __future__ import annotations

import threading

from core.agents import AgentService
from core.conversations import ConversationService
from core.events import EventLog


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

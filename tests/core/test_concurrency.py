"""Two writers on one SQLite file (or PostgreSQL): seqs stay contiguous and the event log stays in commit order."""
from __future__ import annotations

import threading

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
        except BaseException as exc:  # surfaced below
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

"""Property-based: random sequences of service calls keep the invariants of conversations and the event log."""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from core.agents import AgentService
from core.clock import FixedClock
from core.conversations import ConversationService
from core.db import Database
from core.errors import ThreadlineError
from core.event_kinds import EventKind
from core.events import EventLog
from core.models import AuthorKind, Conversation, Event, Message


@dataclass
class ReplayedConversation:
    status: str = "queued"
    assignee_id: int | None = None
    seqs: list[int] = field(default_factory=list)
    end_user_read_seq: int = 0
    agent_read_seq: int = 0


def replay(events: Iterable[Event]) -> dict[int, ReplayedConversation]:
    """Rebuild each conversation's state from its events alone (used to check the log is complete)."""
    state: dict[int, ReplayedConversation] = {}
    for event in events:
        if event.conversation_id is None:
            continue
        current = state.setdefault(event.conversation_id, ReplayedConversation())
        payload = event.payload or {}
        if "status" in payload:
            current.status = payload["status"]
        if event.kind == EventKind.message_posted:
            current.seqs.append(payload["seq"])
        elif event.kind == EventKind.read_end_user:
            current.end_user_read_seq = payload["seq"]
        elif event.kind == EventKind.read_agent:
            current.agent_read_seq = payload["seq"]
        if "assignee_id" in payload:
            current.assignee_id = payload["assignee_id"]
        if "end_user_read_seq" in payload:
            current.end_user_read_seq = payload["end_user_read_seq"]
        if "agent_read_seq" in payload:
            current.agent_read_seq = payload["agent_read_seq"]
    return state


operation = st.one_of(
    st.tuples(st.just("start"), st.integers(0, 2)),
    st.tuples(st.just("end_user_says"), st.integers(0, 3), st.text(min_size=0, max_size=12)),
    st.tuples(st.just("agent_says"), st.integers(0, 3), st.integers(0, 1), st.booleans()),
    st.tuples(st.just("read"), st.integers(0, 3), st.sampled_from(["end_user", "agent"]), st.integers(0, 8)),
    st.tuples(st.just("assign"), st.integers(0, 3), st.integers(0, 1)),
    st.tuples(st.just("unassign"), st.integers(0, 3)),
    st.tuples(st.just("status"), st.integers(0, 3), st.sampled_from(["queued", "open", "pending", "solved"])),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, min_size=1, max_size=30))
def test_random_operations_keep_invariants(migrated_sqlite_file, operations):
    with tempfile.TemporaryDirectory() as folder:
        # A copy of the session's once-migrated file (tests/conftest.py): the schema upgrade would be most of the time.
        shutil.copyfile(migrated_sqlite_file, Path(folder) / "t.db")
        db = Database(f"sqlite:///{Path(folder) / 't.db'}")
        clock = FixedClock()
        with db.session() as session:
            agents = [AgentService(session, clock).add(h, h) for h in ("a", "b")]
            service = ConversationService(session, clock)
            users = [service.create_end_user(f"u{n}") for n in range(3)]
            conversations: list[int] = []
            for op in operations:
                clock.advance(1)
                try:
                    if op[0] == "start":
                        conversations.append(service.start_conversation(users[op[1]].id).id)
                        continue
                    if not conversations:
                        continue
                    target = conversations[op[1] % len(conversations)]
                    if op[0] == "end_user_says":
                        service.post_end_user_message(target, op[2])
                    elif op[0] == "agent_says":
                        service.post_agent_message(target, agents[op[2]].id, "reply", email_fallback=op[3])
                    elif op[0] == "read":
                        service.mark_read(target, op[2], op[3])
                    elif op[0] == "assign":
                        service.assign(target, agents[op[2]].id)
                    elif op[0] == "unassign":
                        service.unassign(target)
                    elif op[0] == "status":
                        service.set_status(target, op[2])
                except ThreadlineError:
                    pass  # refused operations must leave no trace; checked by the replay below
            replayed = replay(EventLog(session).after(0, limit=100_000))
            for conversation in session.exec(select(Conversation)).all():
                messages = session.exec(
                    select(Message).where(Message.conversation_id == conversation.id).order_by(Message.seq)).all()
                seqs = [m.seq for m in messages]
                assert seqs == list(range(1, len(seqs) + 1))
                assert conversation.last_seq == len(seqs)
                expected_unread = sum(
                    1 for m in messages if m.seq > conversation.agent_read_seq and m.author_kind is AuthorKind.end_user
                )
                assert service.unread_count(conversation, "agent") == expected_unread
                expected_unread = sum(
                    1 for m in messages if m.seq > conversation.end_user_read_seq and m.author_kind is AuthorKind.agent
                )
                assert service.unread_count(conversation, "end_user") == expected_unread
                assert conversation.end_user_read_seq <= conversation.last_seq
                state = replayed[conversation.id]
                assert state.seqs == seqs
                assert state.status == conversation.status.value
                assert state.assignee_id == conversation.assignee_id
                assert state.end_user_read_seq == conversation.end_user_read_seq
                assert state.agent_read_seq == conversation.agent_read_seq
        db.dispose()

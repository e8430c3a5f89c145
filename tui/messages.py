"""Messages the console's workers post back to the UI thread (results of database work run in threads)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message


@dataclass
class Notice:
    """Something an agent should hear about: a new conversation, an end user's answer."""

    text: str  # built from people's text: always shown with markup=False
    conversation_id: int | None = None


@dataclass
class LiveChange:
    """What changed in the event log since the last look."""

    conversation_ids: set[int] = field(default_factory=set)
    kinds: set[str] = field(default_factory=set)
    global_change: bool = False  # settings, triggers, templates, outbox, inbound mail, agents
    notices: list[Notice] = field(default_factory=list)


class ConsoleReady(Message):
    """The start-up worker set the agent online and read the log's cursor and the waiting count."""

    def __init__(self, waiting: int) -> None:
        super().__init__()
        self.waiting = waiting


class ConsoleProblem(Message):
    """Something the agent should know about the console itself (live updates paused)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class EventsArrived(Message):
    def __init__(self, change: LiveChange) -> None:
        super().__init__()
        self.change = change


class Loaded(Message):
    """A screen's worker finished reading; generation tells stale results from the latest."""

    def __init__(self, kind: str, generation: int, data: Any) -> None:
        super().__init__()
        self.kind = kind
        self.generation = generation
        self.data = data


class ActionDone(Message):
    """A worker finished a change; message is shown to the agent, error says whether it failed."""

    def __init__(self, kind: str, message: str = "", error: bool = False, data: Any = None) -> None:
        super().__init__()
        self.kind = kind
        self.message = message
        self.error = error
        self.data = data

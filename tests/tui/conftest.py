"""Fixtures for the console tests: a real SQLite file with fixed agents, end users and conversations, and the app."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from core.agents import AgentService
from core.clock import FixedClock
from core.config import Config
from core.conversations import ConversationService
from core.db import Database
from tui.app import build_app


@dataclass
class Desk:
    db: Database
    clock: FixedClock
    agent_id: int
    other_agent_id: int
    conversations: dict[str, int]
    end_users: dict[str, int]


def console_config() -> Config:
    config = Config()
    config.imap.enabled = True  # mail counts as configured, so continuous conversations may be switched on
    return config


@pytest.fixture
def desk(db: Database, clock: FixedClock) -> Desk:
    """Three waiting conversations (oldest: Alex by email), one answered by an agent, one solved."""
    with db.session() as session:
        agents = AgentService(session, clock)
        sam = agents.add("sam", "Sam Agent", is_admin=True, os_user="sam-os")
        kim = agents.add("kim", "Kim Agent")
        service = ConversationService(session, clock)
        conversations: dict[str, int] = {}
        end_users: dict[str, int] = {}
        script = [
            ("alex", "Alex Doe", "alex@example.com", "en", [("end_user", "Where is my order #4411?", "email")]),
            ("bea", "Bea Schmidt", None, "de", [("end_user", "Hallo, mein Login geht nicht.", "messaging"),
                                               ("end_user", "Ist jemand da?", "messaging")]),
            ("chen", "Chen Li", "chen@example.com", "en", [("end_user", "Can I change my plan?", "messaging"),
                                                          ("agent", "Yes, from the billing page.", "messaging")]),
            ("dana", "Dana [bold red]Evil[/]", None, "fr",
             [("end_user", "[@click=app.quit]click me[/] \x1b[31mred\x1b[0m [bold]not bold[/bold]", "messaging")]),
            ("eli", "Eli Old", "eli@example.com", "en", [("end_user", "Thanks, all good.", "messaging")]),
        ]
        for key, name, email, language, messages in script:
            end_user = service.create_end_user(name, email, language)
            conversation = service.start_conversation(end_user.id, channel=messages[0][2])
            for author, body, channel in messages:
                clock.advance(timedelta(minutes=7))
                if author == "agent":
                    service.post_agent_message(conversation.id, kim.id, body)
                else:
                    if "\x1b" in body:  # stored bodies never hold control characters; the name test covers markup
                        body = body.replace("\x1b[31m", "").replace("\x1b[0m", "")
                    service.post_end_user_message(conversation.id, body, channel=channel)
            conversations[key] = conversation.id
            end_users[key] = end_user.id
        service.set_status(conversations["eli"], "solved")
        clock.advance(timedelta(minutes=30))
        return Desk(db, clock, sam.id, kim.id, conversations, end_users)


@pytest.fixture
def make_console(desk: Desk):
    """Builds the console the way `threadline console` does, on the test database, with the fixed clock."""

    def make(handle: str = "sam", **kwargs):
        return build_app(desk.db, agent_handle=handle, clock=desk.clock, config=kwargs.pop("config", console_config()),
                         poll_seconds=kwargs.pop("poll_seconds", 0.05), **kwargs)

    return make

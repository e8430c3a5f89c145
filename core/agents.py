"""Agents: registering them, looking them up, and their online/away/offline status."""
from __future__ import annotations

import re
import zoneinfo

from sqlmodel import Session, col, select

from core.clock import Clock
from core.errors import InvalidInput, NotFound
from core.event_kinds import EventKind
from core.events import record_event
from core.i18n import _, available_languages
from core.models import Agent, AgentStatus
from core.text import clean_name
from core.transactions import transactional

_HANDLE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


def check_language(language: str | None) -> None:
    """InvalidInput unless language is empty or one the console has a catalog for (en, de, pt_BR, ...)."""
    if language and language not in available_languages():
        raise InvalidInput(_("Unknown language {language!r}; the console speaks: {languages}.").format(
            language=language, languages=", ".join(available_languages())))


def check_timezone(timezone: str | None) -> None:
    """InvalidInput unless timezone is empty or an IANA time zone name this machine knows (Europe/Berlin, UTC)."""
    if not timezone:
        return
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(_("Unknown time zone {zone!r}; give an IANA name such as Europe/Berlin, America/New_York "
                             "or UTC.").format(zone=timezone)) from None


class AgentService:
    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    @transactional
    def add(self, handle: str, name: str, *, is_admin: bool = False, os_user: str | None = None,
            language: str | None = None, timezone: str | None = None) -> Agent:
        handle = (handle or "").strip().lower()
        if not _HANDLE.match(handle):
            raise InvalidInput(
                _(
                    "The handle {handle!r} is not valid; use lowercase letters, digits, '.', '_' or '-' (at most 64)."
                ).format(handle=handle)
            )
        clean = clean_name(name)
        if not clean:
            raise InvalidInput(_("An agent needs a name; pass --name."))
        if self.session.exec(select(Agent).where(Agent.handle == handle)).first():
            raise InvalidInput(_("An agent with the handle {handle!r} exists already.").format(handle=handle))
        if os_user and self.session.exec(select(Agent).where(Agent.os_user == os_user)).first():
            raise InvalidInput(
                _("The operating-system user {user!r} belongs to another agent already.").format(user=os_user)
            )
        check_language(language)
        check_timezone(timezone)
        now = self.clock.now()
        agent = Agent(handle=handle, name=clean, is_admin=is_admin, os_user=os_user or None, language=language or None,
                      timezone=timezone or None, created_at=now, status_changed_at=now)
        self.session.add(agent)
        self.session.flush()
        record_event(self.session, now, EventKind.agent_added, None, agent_id=agent.id, handle=handle)
        return agent

    def get(self, agent_id: int) -> Agent:
        agent = self.session.get(Agent, agent_id)
        if agent is None:
            raise NotFound(_("There is no agent with id {id}.").format(id=agent_id))
        return agent

    def by_handle(self, handle: str) -> Agent:
        agent = self.session.exec(select(Agent).where(Agent.handle == (handle or "").strip().lower())).first()
        if agent is None:
            raise NotFound(
                _("There is no agent with the handle {handle!r}; add one with: threadline agent add").format(
                    handle=handle
                )
            )
        return agent

    def by_os_user(self, os_user: str) -> Agent | None:
        return self.session.exec(select(Agent).where(Agent.os_user == os_user)).first()

    def list(self) -> list[Agent]:
        return list(self.session.exec(select(Agent).order_by(col(Agent.handle))))

    @transactional
    def set_status(self, agent_id: int, status: AgentStatus | str) -> Agent:
        try:
            status = AgentStatus(status)
        except ValueError:
            raise InvalidInput(
                _("Unknown agent status {status!r}; use online, away or offline.").format(status=status)
            ) from None
        agent = self.get(agent_id)
        if agent.status != status:
            now = self.clock.now()
            agent.status = status
            agent.status_changed_at = now
            self.session.add(agent)
            record_event(self.session, now, EventKind.agent_status, None, agent_id=agent.id, agent_status=status.value)
        return agent

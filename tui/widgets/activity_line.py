"""The line above the reply box: whether the end user is typing (and what, when allowed), and which other agents
are viewing or replying, so two agents do not answer the same person. It also reports this agent's own activity."""
from __future__ import annotations

import logging

from rich.text import Text
from textual import on, work
from textual.widgets import Static

from core.activity import ActivityService, LiveActivity, end_user_of
from core.activity_rules import ActivityThrottle, agent_participant
from core.labels import end_user_label
from tui.console_context import ConsoleContext
from tui.i18n import _
from tui.messages import ActivityRead
from tui.text import literal, plain

log = logging.getLogger(__name__)

# How often the line reads the activity rows (written by other processes: widget servers, other consoles).
POLL_SECONDS = 1.0
_SEPARATOR = " · "
PREVIEW_TAIL = 50


def activity_text(items: list[LiveActivity], end_user_name: str, own_agent_id: int) -> Text:
    """What the line says: the end user typing on the first line, other agents on the next; empty when nobody
    else is there. Names and the preview are shown literally."""
    end_user, agents = Text(), []
    for item in items:
        if item.agent_id is None:
            if not item.typing:
                continue
            name = plain(end_user_name, 40)
            if item.preview:
                end_user.append(_("{name} is typing:").format(name=name), style="bold")
                end_user.append(" ")
                # The end of the text: what they type now, on one line beside the name.
                tail = item.preview if len(item.preview) <= PREVIEW_TAIL else "…" + item.preview[-PREVIEW_TAIL:]
                end_user.append_text(literal(tail, "italic", one_line=True))
            else:
                end_user.append(_("{name} is typing…").format(name=name), style="bold")
        elif item.agent_id == own_agent_id:
            continue
        elif item.typing:
            agents.append(Text(_("{name} is replying").format(name=plain(item.agent_name, 40)), style="bold yellow"))
        else:
            agents.append(Text(_("{name} is viewing").format(name=plain(item.agent_name, 40))))
    return Text("\n").join(part for part in (end_user, Text(_SEPARATOR).join(agents)) if part)


class ActivityLine(Static):
    """Follows one conversation's activity every POLL_SECONDS and reports this agent viewing and typing,
    throttled (core.activity_rules), from workers: never a database call on the UI thread."""

    def __init__(self, context: ConsoleContext, **kwargs: object) -> None:
        super().__init__("", markup=False, **kwargs)  # type: ignore[arg-type]
        self.context = context
        self.conversation_id = 0
        self.throttle = ActivityThrottle()
        self.display = False

    def on_mount(self) -> None:
        self.set_interval(POLL_SECONDS, self.poll)

    def follow(self, conversation_id: int) -> None:
        """Show and report conversation_id from now on (the screen shows it)."""
        if conversation_id != self.conversation_id:
            self.stop()
            self.conversation_id = conversation_id
            self._show(Text())
        self.poll()

    def stop(self) -> None:
        """The agent left the conversation: their row goes now, not at expiry."""
        if self.conversation_id and self.throttle.last_viewing_write is not None:
            self._leave(self.conversation_id, self.context.agent.id)
        self.throttle.left()

    def typed(self, text: str) -> None:
        """The reply box changed: report typing (or its end) when the throttle says so."""
        if self.conversation_id and self.throttle.typed(self.context.clock.now(), bool(text.strip())):
            self._report(self.conversation_id, self.throttle.typing)

    def poll(self) -> None:
        if not self.conversation_id or not self.screen.is_current:
            return
        viewing = self.throttle.viewed(self.context.clock.now())
        self._read(self.conversation_id, viewing)

    # --- workers: best effort; a failed round is logged and the next one (a second later) tries again ---------
    @work(thread=True, group="activity-read", exclusive=True, exit_on_error=False)
    def _read(self, conversation_id: int, report_viewing: bool) -> None:
        context = self.context
        try:
            if report_viewing:
                with context.db.session() as session:
                    ActivityService(session, context.clock).agent_active(conversation_id, context.agent.id,
                                                                         typing=None)
            with context.db.read_session() as session:
                items = ActivityService(session, context.clock).live(conversation_id)
                end_user = end_user_of(session, conversation_id)
                name = end_user_label(end_user, _) if end_user is not None else ""
        except Exception:  # an indicator must not interrupt the agent; the next poll retries
            log.warning("reading activity of conversation %s failed", conversation_id, exc_info=True)
            return
        self.post_message(ActivityRead(conversation_id, activity_text(items, name, context.agent.id)))

    @work(thread=True, group="activity-write", exit_on_error=False)
    def _report(self, conversation_id: int, typing: bool) -> None:
        try:
            with self.context.db.session() as session:
                ActivityService(session, self.context.clock).agent_active(conversation_id, self.context.agent.id,
                                                                          typing=typing)
        except Exception:  # see _read; the report expires by itself
            log.warning("reporting activity in conversation %s failed", conversation_id, exc_info=True)

    @work(thread=True, group="activity-write", exit_on_error=False)
    def _leave(self, conversation_id: int, agent_id: int) -> None:
        try:
            with self.context.db.session() as session:
                ActivityService(session, self.context.clock).left(conversation_id, agent_participant(agent_id))
        except Exception:  # see _read; the row expires by itself
            log.warning("leaving conversation %s failed", conversation_id, exc_info=True)

    @on(ActivityRead)
    def _activity_read(self, message: ActivityRead) -> None:
        if message.conversation_id == self.conversation_id and isinstance(message.text, Text):
            self._show(message.text)

    def _show(self, text: Text) -> None:
        self.update(text)
        self.display = bool(text)

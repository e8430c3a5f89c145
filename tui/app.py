"""The agent console: the Textual app, and build_app(), the one factory used by `threadline console` and the tests."""
from __future__ import annotations

import gc
import logging

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.worker import get_current_worker

from core.agents import AgentService
from core.clock import Clock, SystemClock
from core.config import Config
from core.db import Database
from core.errors import NotFound
from core.events import EventLog, wakeup
from core.listing import QueueListing
from core.models import Agent, AgentStatus
from tui.commands import ConsoleCommands
from tui.i18n import N_, _, set_language, translate_bindings
from tui.live import read_changes
from tui.messages import ConsoleProblem, ConsoleReady, EventsArrived
from tui.console_context import AgentInfo, ConsoleContext

log = logging.getLogger(__name__)

# How often the follower looks at the event log when no in-process wake-up arrives (other processes' changes).
POLL_SECONDS = 0.25


class ThreadlineConsole(App):
    """Queue, conversations, settings and mail for one agent; live through the event log."""

    CSS_PATH = "console.tcss"
    TITLE = "Threadline"
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    # Descriptions are msgids (N_); translate_bindings shows them in the agent's language.
    BINDINGS = [
        Binding("question_mark", "help", N_("Help"), key_display="?", id="help"),
        Binding("f2", "open_settings", N_("Settings"), id="settings"),
        Binding("f3", "open_mail", N_("Mail"), id="mail"),
        Binding("ctrl+q", "quit", N_("Quit"), id="quit", show=False),
    ]

    def __init__(self, context: ConsoleContext, *, poll_seconds: float = POLL_SECONDS,
                 set_online: bool = True) -> None:
        super().__init__()
        self.context = context
        self.poll_seconds = poll_seconds
        self.set_online = set_online
        translate_bindings(self)
        self.drafts: dict[int, str] = {}
        self.cursor = 0
        self.waiting = 0

    @property
    def agent(self) -> AgentInfo:
        return self.context.agent

    def on_mount(self) -> None:
        from tui.screens.queue import QueueScreen

        self.title = "Threadline"
        self.sub_title = _("{name} ({handle})").format(name=self.agent.name, handle=self.agent.handle)
        self.push_screen(QueueScreen())
        self.start_following()

    # --- live updates ----------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="follow", exit_on_error=False)
    def start_following(self) -> None:
        """Set the agent online, tell how many wait, then follow the event log by cursor until the app ends."""
        worker = get_current_worker()
        db, clock = self.context.db, self.context.clock
        cursor = None
        while cursor is None and not worker.is_cancelled:
            try:
                cursor = self._start(db, clock)
            except Exception:
                log.exception("starting the console's live updates failed; retrying")
                self.post_message(ConsoleProblem(_("Live updates paused: the database did not answer. Retrying…")))
                wakeup.wait(2.0)
        failures = 0
        while not worker.is_cancelled:
            try:
                with db.read_session() as session:
                    cursor, change = read_changes(session, cursor)
                failures = 0
            except Exception:  # a database hiccup must not end live updates; the cursor keeps our place
                failures += 1
                log.exception("reading the event log failed (%d in a row); retrying", failures)
                if failures == 1:
                    self.post_message(ConsoleProblem(_("Live updates paused: the database did not answer. "
                                                       "Retrying…")))
                wakeup.wait(min(5.0, self.poll_seconds * 2 ** failures))
                continue
            if change is not None:
                self.cursor = cursor
                self.post_message(EventsArrived(change))
                continue
            wakeup.wait(self.poll_seconds)

    def _start(self, db: Database, clock: Clock) -> int:
        if self.set_online:
            with db.session() as session:
                AgentService(session, clock).set_status(self.agent.id, AgentStatus.online)
        with db.read_session() as session:
            cursor = EventLog(session).latest_id()
            waiting = QueueListing(session, clock).waiting_count()
        self.post_message(ConsoleReady(waiting))
        return cursor

    def on_console_problem(self, message: ConsoleProblem) -> None:
        self.notify(message.text, severity="warning", markup=False)

    def on_console_ready(self, message: ConsoleReady) -> None:
        # Start-up objects (modules, styles, widgets) live as long as the app: keeping them out of the garbage
        # collector's scans removes its pauses of a tenth of a second from screen switches.
        gc.freeze()
        self.waiting = message.waiting
        if message.waiting:
            self.notify(_("{count} conversations are waiting.").format(count=message.waiting),
                        title=_("Queue"))
            self._bell()

    def on_events_arrived(self, message: EventsArrived) -> None:
        change = message.change
        for notice in change.notices:
            self.notify(notice.text, title=_("Threadline"), markup=False)
        if change.notices:
            self._bell()
        for screen in self.screen_stack:
            handler = getattr(screen, "live_changed", None)
            if handler is not None:
                handler(change)

    def _bell(self) -> None:
        if self.context.config.console.bell:
            self.bell()

    # --- actions every screen offers ----------------------------------------------------------------
    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_open_settings(self) -> None:
        from tui.screens.settings import SettingsScreen

        if not self.agent.is_admin:
            self.notify(_("Only admins can change the settings."), severity="warning")
            return
        if not isinstance(self.screen, SettingsScreen):
            self.push_screen(SettingsScreen())

    def action_open_mail(self) -> None:
        from tui.screens.mail import MailScreen

        if not isinstance(self.screen, MailScreen):
            self.push_screen(MailScreen())

    def open_conversation(self, conversation_id: int) -> None:
        from tui.screens.conversation import ConversationScreen

        if not self.is_screen_installed("conversation"):
            self.install_screen(ConversationScreen(), "conversation")
        screen = self.get_screen("conversation")
        if self.screen is screen:
            screen.on_screen_suspend()  # keep the draft of the conversation being left
            screen.show(conversation_id)
            screen.on_screen_resume()
            return
        if screen in self.screen_stack:  # under a dialog: close back to it
            while self.screen is not screen:
                self.pop_screen()
            screen.on_screen_suspend()
            screen.show(conversation_id)
            screen.on_screen_resume()
            return
        screen.show(conversation_id)
        self.push_screen(screen)


def resolve_agent(db: Database, clock: Clock, *, handle: str | None = None, os_user: str | None = None) -> AgentInfo:
    """The agent named by handle, else the one registered for os_user; NotFound names `threadline agent add`."""
    with db.read_session() as session:
        service = AgentService(session, clock)
        agent: Agent | None
        if handle:
            agent = service.by_handle(handle)
        else:
            agent = service.by_os_user(os_user or "") if os_user else None
            if agent is None:
                raise NotFound(_(
                    "No agent is registered for the operating-system user {user!r}. Register one with "
                    "`threadline agent add HANDLE --name NAME --os-user {user}`, or pass --agent HANDLE."
                ).format(user=os_user or "?"))
        return AgentInfo(id=agent.id, handle=agent.handle, name=agent.name, is_admin=agent.is_admin,
                         language=agent.language)


def build_app(db: Database, *, agent_handle: str | None = None, os_user: str | None = None,
              clock: Clock | None = None, config: Config | None = None, poll_seconds: float = POLL_SECONDS,
              set_online: bool = True) -> ThreadlineConsole:
    """The console for one agent on db (by handle, else by OS user); labels in the agent's language."""
    clock = clock or SystemClock()
    agent = resolve_agent(db, clock, handle=agent_handle, os_user=os_user)
    set_language(agent.language)
    context = ConsoleContext(db=db, clock=clock, config=config or Config(), agent=agent)
    return ThreadlineConsole(context, poll_seconds=poll_seconds, set_online=set_online)

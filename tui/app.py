"""The agent console: the Textual app, and build_app(), the one factory used by `threadline console` and the tests."""
from __future__ import annotations

import gc
import logging
from typing import ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.worker import Worker, WorkerState, get_current_worker

from core.agents import AgentService
from core.clock import Clock, SystemClock
from core.config import Config
from core.db import Database
from core.errors import NotFound, ThreadlineError
from core.events import EventLog, wakeup
from core.listing import QueueListing
from core.models import Agent, AgentStatus
from tui.commands import ConsoleCommands
from tui.console_context import AgentInfo, ConsoleContext
from tui.i18n import N_, _, error_text, set_language
from tui.live import read_changes
from tui.messages import (
    ConsoleProblem,
    ConsoleReady,
    ConversationPicked,
    DraftKept,
    EventsArrived,
    LiveChanged,
    WorkFailed,
)
from tui.screens.articles import ArticlesScreen
from tui.screens.conversation import ConversationScreen
from tui.screens.help import HelpScreen
from tui.screens.mail import MailScreen
from tui.screens.queue import QueueScreen
from tui.screens.reports import ReportsScreen
from tui.screens.settings import SettingsScreen
from tui.text import set_time_zone

log = logging.getLogger(__name__)

# How often the follower looks at the event log when no in-process wake-up arrives (other processes' changes).
POLL_SECONDS = 0.25


class ThreadlineConsole(App):
    """Queue, conversations, settings and mail for one agent; live through the event log."""

    CSS_PATH = "console.tcss"
    TITLE = "Threadline"
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    # Descriptions are msgids (N_): the key bar, the help screen and the palette show them in the agent's language.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", N_("Help"), key_display="?", id="help"),
        Binding("f2", "open_settings", N_("Settings"), id="settings"),
        Binding("f3", "open_mail", N_("Mail"), id="mail"),
        Binding("f4", "open_reports", N_("Reports"), show=False, id="reports"),
        # Not in the key bar (admins only, and rarely): in the help screen and the command palette.
        Binding("f5", "open_articles", N_("Articles"), id="articles", show=False),
        Binding("ctrl+q", "quit", N_("Quit"), id="quit", show=False),
    ]

    def __init__(self, context: ConsoleContext, *, poll_seconds: float = POLL_SECONDS,
                 set_online: bool = True) -> None:
        super().__init__()
        self.context = context
        self.poll_seconds = poll_seconds
        self.set_online = set_online
        self.drafts: dict[int, str] = {}
        self.cursor = 0
        self.waiting = 0

    @property
    def agent(self) -> AgentInfo:
        return self.context.agent

    def on_mount(self) -> None:
        self.title = "Threadline"
        self.sub_title = _("{name} ({handle})").format(name=self.agent.name, handle=self.agent.handle)
        self.push_screen(QueueScreen(self.context))
        self.start_following()

    # --- live updates ----------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="follow", exit_on_error=False)
    def start_following(self) -> None:
        """Set the agent online, tell how many wait, then follow the event log by cursor until the app ends."""
        worker = get_current_worker()
        db, clock = self.context.db, self.context.clock
        cursor: int | None = None
        while cursor is None and not worker.is_cancelled:
            try:
                cursor = self._start(db, clock)
            except Exception:
                log.exception("starting the console's live updates failed; retrying")
                self.post_message(ConsoleProblem(_("Live updates paused: the database did not answer. Retrying…")))
                wakeup.wait(2.0)
        if cursor is None:  # cancelled before the start succeeded
            return
        self.cursor = cursor
        failures = 0
        while not worker.is_cancelled:
            seen = wakeup.generation  # before the read: a commit landing during it must not wait for the next poll
            try:
                with db.read_session() as session:
                    cursor, change = read_changes(session, cursor, self.agent.id)
                self.cursor = cursor  # how far this console has read, whether or not anything concerned it
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
                self.post_message(EventsArrived(change))
                continue
            # On PostgreSQL with push (core.event_push) other processes' commits wake us too; poll slowly then.
            wakeup.wait(wakeup.poll_interval(self.poll_seconds), since=seen)

    def on_unmount(self) -> None:
        # The follower sleeps in wakeup.wait() for up to the poll interval (a minute in a test, 5 s with push):
        # cancelled, it still has to wake to see that, or quitting waits for it.
        self.workers.cancel_group(self, "follow")
        wakeup.notify()

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
            screen.post_message(LiveChanged(change))

    def _bell(self) -> None:
        if self.context.config.console.bell:
            self.bell()

    # --- failures: one place for every worker's exception ----------------------------------------------
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The app's own workers; screens pass theirs on as WorkFailed (Worker.StateChanged does not bubble)."""
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.report_failure(event.worker.name, event.worker.error)

    def on_work_failed(self, message: WorkFailed) -> None:
        self.report_failure(message.worker_name, message.error)

    def report_failure(self, worker_name: str, error: BaseException) -> None:
        """A toast naming the error (a domain error's own words) and a log line with the traceback."""
        log.error("console worker %s failed", worker_name, exc_info=error)
        if isinstance(error, ThreadlineError):
            text = error_text(error)
        else:
            text = _("Something went wrong ({error}): {reason}").format(error=type(error).__name__,
                                                                         reason=str(error) or "–")
        self.notify(text, title=_("Error"), severity="error", markup=False)

    # --- actions every screen offers ----------------------------------------------------------------
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_open_settings(self) -> None:
        if not self.agent.is_admin:
            self.notify(_("Only admins can change the settings."), severity="warning")
            return
        if not isinstance(self.screen, SettingsScreen):
            self.push_screen(SettingsScreen(self.context))

    def action_open_articles(self) -> None:
        if not self.agent.is_admin:
            self.notify(_("Only admins can edit help-center articles."), severity="warning")
            return
        if not isinstance(self.screen, ArticlesScreen):
            self.push_screen(ArticlesScreen(self.context))

    def action_open_mail(self) -> None:
        if not isinstance(self.screen, MailScreen):
            self.push_screen(MailScreen(self.context))

    def action_open_reports(self) -> None:
        if not isinstance(self.screen, ReportsScreen):
            self.push_screen(ReportsScreen(self.context))

    # --- what screens ask for --------------------------------------------------------------------------
    def on_conversation_picked(self, message: ConversationPicked) -> None:
        self.open_conversation(message.conversation_id)

    def on_draft_kept(self, message: DraftKept) -> None:
        if message.text.strip():
            self.drafts[message.conversation_id] = message.text
        else:
            self.drafts.pop(message.conversation_id, None)

    def open_conversation(self, conversation_id: int) -> None:
        """Show conversation_id in the one conversation screen, with its draft; closes dialogs above it."""
        if not self.is_screen_installed("conversation"):
            self.install_screen(ConversationScreen(self.context), "conversation")
        screen = self.get_screen("conversation", ConversationScreen)
        if screen in self.screen_stack:
            while self.screen is not screen:  # under a dialog: close back to it
                self.pop_screen()
            # Kept now, not by a message: the draft must be stored before the next conversation's is handed down.
            self.on_draft_kept(DraftKept(screen.conversation_id, screen.reply_text()))
            screen.show(conversation_id, self.drafts.get(conversation_id, ""))
            screen.start_loading()
            return
        screen.show(conversation_id, self.drafts.get(conversation_id, ""))
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
        if agent.id is None:
            raise ValueError("agent has no id: it was not read from the database")
        return AgentInfo(id=agent.id, handle=agent.handle, name=agent.name, is_admin=agent.is_admin,
                         language=agent.language, timezone=agent.timezone)


def build_app(db: Database, *, agent_handle: str | None = None, os_user: str | None = None,
              clock: Clock | None = None, config: Config | None = None, poll_seconds: float = POLL_SECONDS,
              set_online: bool = True, demo: bool = False, help_center_url: str = "") -> ThreadlineConsole:
    """The console for one agent on db (by handle, else by OS user); labels in the agent's language.

    demo: the console of `threadline demo`, whose data is removed when it quits (the quit question says so).
    help_center_url: where end users reach article pages (threadline.public_links.help_center_url).
    """
    clock = clock or SystemClock()
    agent = resolve_agent(db, clock, handle=agent_handle, os_user=os_user)
    set_language(agent.language)
    set_time_zone(agent.timezone)
    context = ConsoleContext(db=db, clock=clock, config=config or Config(), agent=agent, demo=demo,
                             help_center_url=help_center_url)
    return ThreadlineConsole(context, poll_seconds=poll_seconds, set_online=set_online)

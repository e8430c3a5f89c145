"""`threadline demo [--headless]`: the whole continuous-conversation loop on this machine, with no configuration."""
from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import ConfigError
from core.i18n import _
from core.private_files import make_private_dir
from threadline import demo
from threadline.context import AppContext
from threadline.public_links import help_center_url
from threadline.structured_logs import configure_logging

if TYPE_CHECKING:
    from threadline.runtime import Runtime
    from tui.app import ThreadlineConsole

log = logging.getLogger(__name__)


def _seconds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 86400:
        raise argparse.ArgumentTypeError(
            _("give a whole number of seconds from 1 to 86400, not {value!r}").format(value=text)
        )
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "demo", help=_("try the whole loop on this machine, with embedded mail servers"),
        description=_("Start a fresh demo: a new SQLite database, an embedded SMTP and IMAP server holding the "
                      "support mailbox and the demo end users' mailboxes, the widget server, the mail workers, "
                      "and the agent console in front. Continuous conversations are on, with a short inactivity "
                      "period, so an unread reply reaches the demo mailbox page within a minute."),
    )
    parser.add_argument("--headless", action="store_true", help=_("run without the agent console (for scripts)"))
    parser.add_argument("--port", type=int, default=demo.DEFAULT_WIDGET_PORT,
                        help=_("widget server port; another free one when taken (default: 8080)"))
    parser.add_argument("--inactivity-seconds", type=_seconds, default=30,
                        help=_("how long an agent's reply stays unread before it is emailed (default: 30)"))
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help=_("an empty folder for the demo (default: a new temporary one, removed on exit)"),
    )
    parser.add_argument("--state-file", metavar="PATH",
                        help=_("write the addresses, ports and database path here as JSON once everything runs"))
    return parser


def _data_dir(given: str | None) -> tuple[Path, bool]:
    if not given:
        return Path(tempfile.mkdtemp(prefix="threadline-demo-")), True
    folder = Path(given).expanduser().resolve()
    if folder.exists() and any(folder.iterdir()):
        raise ConfigError(
            _("The demo folder {folder} is not empty; give an empty or new folder.").format(folder=folder)
        )
    make_private_dir(folder)
    return folder, False


def _announce(state: demo.DemoState, headless: bool) -> None:
    users = ", ".join(state.end_users)
    print(_("Threadline demo is running."), flush=True)
    print(_("  Widget (chat as an end user): {url}").format(url=state.url))
    print(_("  Demo mailboxes (read and answer emails): {url}").format(url=state.mailbox_url))
    print(
        _("  Embedded IMAP 127.0.0.1:{imap} and SMTP 127.0.0.1:{smtp}; "
          "logins {users} and {support}, password {password}").format(
            imap=state.imap_port,
            smtp=state.smtp_port,
            users=users,
            support=state.support_address,
            password=state.mailbox_password,
        )
    )
    print(_("  Database: {path}").format(path=state.database_path))
    print(
        _("Stop with Ctrl-C.") if headless else _("Opening the agent console; quitting it stops the demo."), flush=True
    )


def run(args: argparse.Namespace, _context: AppContext) -> int:
    folder, temporary = _data_dir(args.data_dir)
    log_file = None
    try:
        if args.headless:
            configure_logging("keyvalue")
        else:
            # The console owns the terminal; logs go to a file in the demo folder.
            log_file = folder / "demo.log"
            logging.getLogger().handlers[:] = [logging.FileHandler(log_file)]
            configure_logging("keyvalue")
        widget_port = demo.free_port(args.port)
        smtp_port, imap_port = demo.free_port(), demo.free_port()
        context = AppContext(demo.demo_config(folder, widget_port, smtp_port, imap_port))
        demo.prepare_database(context, args.inactivity_seconds)
        return _run(args, context, widget_port, smtp_port, imap_port, temporary)
    finally:
        if temporary:
            shutil.rmtree(folder, ignore_errors=True)


def _run(args: argparse.Namespace, context: AppContext, widget_port: int, smtp_port: int, imap_port: int,
         temporary: bool) -> int:
    # Here, not at the top: the server's parts are the heaviest imports, and every other command would load them.
    from threadline import parts
    from threadline.demo_mailbox import Mailboxes, mailbox_routes
    from threadline.runtime import Runtime

    mail = demo.DemoMail(smtp_port, imap_port)
    mailboxes = Mailboxes(imap_port, smtp_port, dict(demo.END_USERS), demo.MAILBOX_PASSWORD)
    workers = parts.workers(context, worker_id="demo")
    # Agents in other processes (scripts, a second console) commit without waking this one: look every second.
    workers["outbound"].scheduler.max_interval = 1.0  # type: ignore[attr-defined]
    runtime = Runtime(context, app=parts.widget_app(context), workers=workers, routes=mailbox_routes(mailboxes),
                      host="127.0.0.1", port=widget_port)
    started = threading.Event()

    announced: list[demo.DemoState] = []

    def on_started(running: Runtime) -> None:
        state = demo.state_for(context, running.url, smtp_port, imap_port, args.inactivity_seconds)
        if args.state_file:
            state.write(Path(args.state_file))
        _announce(state, args.headless)
        announced.append(state)
        started.set()

    runtime.on_started = on_started

    async def main() -> int:
        await mail.start()
        try:
            return await runtime.run()
        finally:
            await mail.stop()
            context.db.dispose()

    if args.headless:
        return asyncio.run(main())
    return _with_console(context, runtime, main, started, announced, temporary)


def _show_addresses(app: ThreadlineConsole, state: demo.DemoState) -> None:
    """A toast in the console with the addresses printed before it took the screen (from a helper thread)."""
    for _attempt in range(100):
        if app.is_running:
            text = _("Widget: {url}\nDemo mailboxes: {mailbox}").format(url=state.url, mailbox=state.mailbox_url)
            app.call_from_thread(app.notify, text, title=_("Threadline demo"), timeout=120)
            return
        threading.Event().wait(0.1)


def _with_console(context: AppContext, runtime: Runtime, main: Callable[[], Coroutine[Any, Any, int]],
                  started: threading.Event, announced: list[demo.DemoState], temporary: bool) -> int:
    """The servers on a background thread's event loop, the console (which runs its own loop) in front."""
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(asyncio.run(main())), name="demo-runtime", daemon=True)
    thread.start()
    while not started.wait(0.1):
        if not thread.is_alive():
            print(_("The demo could not start; see the log in {folder}.").format(folder=context.config.data_path),
                  file=sys.stderr)
            return 1
    from tui.app import build_app  # here, not at the top: every other command would load the console

    # demo=temporary: quitting asks with a warning that the demo's data will be removed (only when it will be).
    app = build_app(context.db, agent_handle=demo.AGENT_HANDLE, clock=context.clock, config=context.config,
                    demo=temporary, help_center_url=help_center_url(context.config))
    threading.Thread(target=_show_addresses, args=(app, announced[0]), daemon=True).start()
    # SIGTERM closes the console like its quit key, so the servers stop cleanly and the temporary folder goes.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: app.exit())
    try:
        app.run()
    finally:
        runtime.stop_threadsafe()
        thread.join(30)
    return result[0] if result else 1

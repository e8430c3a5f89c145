"""`threadline console [--agent HANDLE]`: open the agent console as the agent of the operating-system user."""
from __future__ import annotations

import argparse
import getpass

from core.agents import AgentService
from core.event_push import EventPush
from core.events import wakeup
from core.i18n import _
from core.models import AgentStatus
from threadline.context import AppContext
from threadline.public_links import help_center_url


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "console", help=_("open the agent console"),
        description=_("Open the agent console on the configured database, as the agent registered for the "
                      "operating-system user (see `threadline agent add --os-user`), or as --agent HANDLE."),
    )
    parser.add_argument("--agent", metavar="HANDLE", default=None,
                        help=_("open as this agent (default: [console] agent, else the operating-system user's)"))
    return parser


def run(args: argparse.Namespace, context: AppContext) -> int:
    from tui.app import build_app  # here, not at the top: every other command would load the console

    handle = args.agent or context.config.console.agent or None
    app = build_app(context.db, agent_handle=handle, os_user=getpass.getuser(), clock=context.clock,
                    config=context.config, help_center_url=help_center_url(context.config))
    # On PostgreSQL the console hears other processes' commits by push (one LISTEN connection) instead of polling.
    push = EventPush(context.db.engine, wakeup)
    push.start()
    try:
        app.run()
    finally:
        push.stop()
        # The agent leaves: others (and the notification rules) must not count on them any more.
        with context.db.session() as session:
            AgentService(session, context.clock).set_status(app.agent.id, AgentStatus.offline)
    return 0

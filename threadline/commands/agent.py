"""`threadline agent add HANDLE --name NAME [--admin] [--os-user USER] [--language xx] [--timezone ZONE]` and
`threadline agent list`."""
from __future__ import annotations

import argparse
import os
import zoneinfo
from pathlib import Path

from core.agents import AgentService
from core.i18n import _, available_languages
from threadline.context import AppContext


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "agent", help=_("add and list agents"),
        description=_("Register agents (the people who answer in the console) and list them."),
    )
    actions = parser.add_subparsers(dest="agent_command", metavar=_("ACTION"), required=True)
    add = actions.add_parser("add", help=_("register an agent"),
                             description=_("Register an agent. `threadline console` opens as the agent whose "
                                           "--os-user is the operating-system user running it."))
    add.add_argument("handle", metavar="HANDLE", help=_("short unique name: lowercase letters, digits, '.', '_', '-'"))
    add.add_argument("--name", required=True, help=_("the name end users see"))
    add.add_argument("--admin", action="store_true", help=_("may change the account settings"))
    add.add_argument("--os-user", metavar="USER", default=None,
                     help=_("operating-system user who opens the console as this agent"))
    add.add_argument("--language", metavar="LANG", default=None,
                     help=_("language of the console, one of: {languages} (default: en)").format(
                         languages=", ".join(available_languages())))
    add.add_argument("--timezone", metavar="ZONE", default=None,
                     help=_("IANA time zone the console shows times in, e.g. Europe/Berlin (default: this "
                            "machine's, {zone})").format(zone=machine_timezone()))
    actions.add_parser("list", help=_("list the agents"), description=_("List the registered agents."))
    return parser


def machine_timezone() -> str:
    """This machine's IANA time zone name: $TZ when it names one, else /etc/localtime's target, else UTC."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        target = str(Path("/etc/localtime").resolve())
        candidates.append(target.split("/zoneinfo/", 1)[1] if "/zoneinfo/" in target else "")
    except OSError:
        pass
    try:
        candidates.append(Path("/etc/timezone").read_text().strip())
    except OSError:
        pass
    for name in candidates:
        if name and not name.startswith("/"):
            try:
                zoneinfo.ZoneInfo(name)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                continue
            return name
    return "UTC"


def run(args: argparse.Namespace, context: AppContext) -> int:
    if args.agent_command == "add":
        with context.db.session() as session:
            agent = AgentService(session, context.clock).add(
                args.handle, args.name, is_admin=args.admin, os_user=args.os_user, language=args.language,
                timezone=args.timezone or machine_timezone())
        print(_("Added agent {handle} ({name}), times shown in {zone}.").format(
            handle=agent.handle, name=agent.name, zone=agent.timezone or "UTC"))
        return 0
    with context.db.read_session() as session:
        agents = AgentService(session, context.clock).list()
    if not agents:
        print(_("No agents yet; add one with: threadline agent add HANDLE --name NAME --os-user USER"))
        return 0
    print(f"{_('handle'):<20} {_('name'):<30} {_('admin'):<6} {_('OS user'):<16} {_('language'):<9} "
          f"{_('time zone'):<20} {_('status')}")
    for agent in agents:
        print(f"{agent.handle:<20} {agent.name:<30} {(_('yes') if agent.is_admin else '-'):<6} "
              f"{agent.os_user or '-':<16} {agent.language or 'en':<9} {agent.timezone or 'UTC':<20} "
              f"{agent.status.value}")
    return 0

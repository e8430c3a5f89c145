"""The `threadline` command: parses arguments, loads the configuration, runs one subcommand."""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from sqlalchemy.exc import DBAPIError

from core.config import load_config
from core.errors import ThreadlineError
from core.masking import mask, mask_log_handlers
from core.i18n import _
from threadline import __version__
from threadline.commands import COMMAND_MODULES
from threadline.context import AppContext


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, object]]:
    parser = argparse.ArgumentParser(
        prog="threadline",
        description=_("Threadline: a self-hosted support desk with continuous conversations. "
                      "End users chat in a web widget, agents answer in a terminal console, and unread replies "
                      "reach the end user by email, whose answer lands back in the same conversation."),
        epilog=_("Configuration: a TOML file (--config, THREADLINE_CONFIG, or the default path shown by "
                 "`threadline doctor`) and THREADLINE_<SECTION>_<KEY> environment variables."),
    )
    parser.add_argument("--config", metavar="PATH", help=_("configuration file (TOML)"))
    parser.add_argument("--version", action="version", version=f"threadline {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help=_("log more detail"))
    subparsers = parser.add_subparsers(dest="command", metavar=_("COMMAND"))
    modules: dict[str, object] = {}
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"threadline.commands.{name}")
        sub = module.register(subparsers)
        sub.set_defaults(_command=name)
        modules[name] = module
    return parser, modules


def main(argv: list[str] | None = None) -> int:
    parser, modules = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_command", None):
        parser.print_help()
        return 2
    try:
        config = load_config(args.config)
        # From here on, errors and log lines show the configuration's secrets as ****.
        mask.add(*config.secret_values())
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else getattr(logging, config.general.log_level.upper(), logging.INFO),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        mask_log_handlers()
        if not args.verbose:
            logging.getLogger("alembic").setLevel(logging.WARNING)
        context = AppContext(config)
        return int(modules[args._command].run(args, context) or 0)  # type: ignore[attr-defined]
    except ThreadlineError as exc:
        print(mask(_("threadline: error: {message}").format(message=exc.message)), file=sys.stderr)
        return 1
    except DBAPIError as exc:  # the database is unreachable or refused us: one line, not a traceback
        print(mask(_("threadline: error: the database refused or could not be reached ({error}); check database.url "
                     "and that the database server runs.").format(error=str(exc.orig).strip() or type(exc.orig).__name__)),
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130

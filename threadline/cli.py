"""The `threadline` command: parses arguments, loads the configuration, runs one subcommand."""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback
from typing import NoReturn

from sqlalchemy.exc import DBAPIError

from core.addresses import allow_special_use_domains
from core.config import load_config
from core.errors import ThreadlineError
from core.i18n import _
from core.masking import mask, mask_log_handlers
from threadline import __version__
from threadline.commands import COMMAND_MODULES
from threadline.context import AppContext


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line that names the fix (argparse prints the whole usage first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, _("{prog}: error: {message}; see: {prog} --help").format(prog=self.prog, message=message) + "\n")


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, object]]:
    parser = OneLineParser(
        prog="threadline",
        description=_("Threadline: a self-hosted support desk with continuous conversations. "
                      "End users chat in a web widget, agents answer in a terminal console, and unread replies "
                      "reach the end user by email, whose answer lands back in the same conversation."),
        epilog=_("Configuration: a TOML file (--config, THREADLINE_CONFIG, or the default path shown by "
                 "`threadline doctor`) and THREADLINE_<SECTION>_<KEY> environment variables."),
    )
    parser.add_argument("--config", metavar="PATH", help=_("configuration file (TOML)"))
    parser.add_argument("--version", action="version", version=f"threadline {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help=_("log more detail, and show the traceback of an error"))
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
        allow_special_use_domains(config.mail.allow_special_use_domains)
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
        return _fail(args, exc.message)
    except DBAPIError as exc:  # the database is unreachable or refused us: one line, not a traceback
        return _fail(
            args,
            _(
                "the database refused or could not be reached ({error}); check database.url and that "
                "the database server runs."
            ).format(error=str(exc.orig).strip() or type(exc.orig).__name__),
        )
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `threadline doctor | head`: the reader left, nothing to report
        # Python's final flush of stdout would fail again and print a warning: point stdout at /dev/null.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as exc:  # a file or folder we could not create or read
        return _fail(args, _("{error}; check the path and its permissions (run with -v for the traceback)").format(
            error=exc))
    except Exception as exc:  # noqa: BLE001 - a bug or a case we did not foresee: still one line, details behind -v
        return _fail(args, _("unexpected {kind}: {error} (run `threadline -v ...` for the traceback, and please "
                             "report it)").format(kind=type(exc).__name__, error=exc))


def _fail(args: argparse.Namespace, message: str) -> int:
    """Print one line naming the problem and the fix (the traceback first, with -v) and return the exit code 1."""
    if args.verbose:
        traceback.print_exc()
    line = " ".join(message.split())  # a driver's text may span lines; the error stays one line
    print(mask(_("threadline: error: {message}").format(message=line)), file=sys.stderr)
    return 1

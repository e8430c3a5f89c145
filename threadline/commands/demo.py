"""`threadline demo`: the whole continuous-conversation loop on one machine, with embedded mail servers."""
from __future__ import annotations

import argparse

from core.errors import ConfigError
from core.i18n import _
from threadline.context import AppContext


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("demo", help=_("try Threadline on this machine with embedded mail servers"))
    parser.add_argument("--headless", action="store_true", help=_("run without the agent console"))
    return parser


def run(args: argparse.Namespace, context: AppContext) -> int:
    raise ConfigError(_("The demo needs the embedded IMAP server, which this build does not have yet."))

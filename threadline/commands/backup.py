"""`threadline backup PATH`: a consistent copy of the SQLite database and the token secret, safe while serve runs."""
from __future__ import annotations

import argparse
from pathlib import Path

from core.backups import make_backup
from core.i18n import _
from threadline import __version__
from threadline.context import AppContext


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "backup", help=_("copy the SQLite database and the token secret into a new folder"),
        description=_("Copy the SQLite database with SQLite's online backup API (consistent, and safe while serve "
                      "and consoles keep writing) and the token secret file into PATH, a new or empty folder, "
                      "with a manifest naming the schema version. For PostgreSQL use pg_dump (README: Backups)."),
    )
    parser.add_argument("path", metavar="PATH", help=_("the folder to create for the backup"))
    return parser


def run(args: argparse.Namespace, context: AppContext) -> int:
    config = context.config
    target = Path(args.path)
    manifest = make_backup(config.database_url, config.data_path / "secret.key", target, version=__version__,
                           now=context.clock.now())
    print(_("Backed up {url} (schema revision {revision}) into {path}.").format(
        url=config.database_url, revision=manifest.schema_revision, path=target))
    if not manifest.secret_key:
        print(_("The token secret is set in the configuration (general.secret), not in a file: back up the "
                "configuration file as well."))
    return 0

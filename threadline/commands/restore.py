"""`threadline restore PATH`: put a backup made by `threadline backup` back, after checking its schema version."""
from __future__ import annotations

import argparse
from pathlib import Path

from core import schema
from core.backups import restore_backup
from core.i18n import _
from threadline.context import AppContext


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "restore", help=_("put a backup back into the configured SQLite database"),
        description=_("Check a folder made by threadline backup (integrity, and a schema version this Threadline "
                      "knows), keep the current database beside it as <name>.before-restore-<time>, write the copy "
                      "into the configured SQLite database and put the token secret file back. Stop serve and the "
                      "consoles first."),
    )
    parser.add_argument("path", metavar="PATH", help=_("the backup folder"))
    return parser


def run(args: argparse.Namespace, context: AppContext) -> int:
    config = context.config
    result = restore_backup(Path(args.path), config.database_url, config.data_path / "secret.key",
                            known_revisions=schema.known_revisions(), restore_secret=not config.general.secret,
                            now=context.clock.now())
    print(_("Restored {path} into {database} (schema revision {revision}).").format(
        path=args.path, database=result.database, revision=result.schema_revision))
    if result.previous_database is not None:
        print(_("The database it replaced is kept as {path}.").format(path=result.previous_database))
    if result.schema_revision != schema.known_revisions()[-1]:
        print(_("The backup has an older schema; upgrade it with: threadline init"))
    return 0

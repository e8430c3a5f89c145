"""`threadline init`: create the database, or upgrade it to the newest schema."""
from __future__ import annotations

import argparse
import logging

from core import schema
from core.i18n import _
from threadline.context import AppContext

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    return subparsers.add_parser(
        "init",
        help=_("create or upgrade the database"),
        description=_(
            "Create the database if it does not exist, or upgrade it to the newest schema. Safe to run again."
        ),
    )


def run(args: argparse.Namespace, context: AppContext) -> int:
    before = schema.current_revision(context.db.engine)
    schema.upgrade(context.db.engine)
    after = schema.current_revision(context.db.engine)
    context.config.secret()  # creates the token secret on first run
    if before == after:
        print(_("Database {url} is up to date (revision {revision}).").format(url=context.db.url, revision=after))
    elif before is None:
        print(_("Created database {url} (revision {revision}).").format(url=context.db.url, revision=after))
    else:
        print(
            _("Upgraded database {url} from revision {before} to {after}.").format(
                url=context.db.url, before=before, after=after
            )
        )
    return 0

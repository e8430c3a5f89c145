"""`threadline doctor`: show the effective configuration (secrets masked) and check the database."""
from __future__ import annotations

import argparse

from sqlalchemy import text

from core import schema
from core.i18n import _
from threadline.context import AppContext


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    return subparsers.add_parser(
        "doctor", help=_("show the configuration and check the database"),
        description=_("Print the effective configuration, secrets masked, and check that the database is reachable and up to date."),
    )


def run(args: argparse.Namespace, context: AppContext) -> int:
    config = context.config
    print(_("Configuration file: {path}").format(path=config.source or _("(none; using defaults and environment)")))
    for section, values in config.as_dict(mask_secrets=True).items():
        print(f"[{section}]")
        for key, value in values.items():
            print(f"  {key} = {value!r}")
    problems = 0
    try:
        with context.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        print(_("ok: database {url} is reachable").format(url=context.db.url))
    except Exception as exc:
        print(_("FAIL: database {url} is not reachable: {error}").format(url=context.db.url, error=exc))
        return 1
    current, head = schema.current_revision(context.db.engine), schema.head_revision(context.db.engine)
    if current == head:
        print(_("ok: schema is at the newest revision ({revision})").format(revision=head))
    else:
        problems += 1
        print(_("FAIL: schema is at revision {current}, the newest is {head}; run: threadline init").format(current=current, head=head))
    return 1 if problems else 0

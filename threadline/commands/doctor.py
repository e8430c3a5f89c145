"""`threadline doctor`: show the effective configuration (secrets masked) and check the database."""
from __future__ import annotations

import argparse

from core.database_checks import check_database
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
    checks = check_database(context.db.engine, context.db.url)
    for check in checks:
        print(check.line)
    return 0 if all(check.ok for check in checks) else 1

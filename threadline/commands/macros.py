"""`threadline macros import FILE`, `threadline macros export FILE` and `threadline macros list`: canned replies as a
TOML file."""
from __future__ import annotations

import argparse
from pathlib import Path

from core.i18n import _
from core.macros import MacroService
from threadline.context import AppContext
from threadline.macro_files import macro_drafts, macros_toml


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "macros", help=_("import, export and list canned replies"),
        description=_("Canned replies (macros) as a TOML file, so they can live in version control. Agents insert "
                      "them in the console with Ctrl+K; admins also edit them in Settings (F2, then Ctrl+G)."),
    )
    actions = parser.add_subparsers(dest="macros_command", metavar=_("ACTION"), required=True)
    load = actions.add_parser("import", help=_("create or replace canned replies from a TOML file"),
                              description=_("Create the canned replies of FILE, replacing those with the same name; "
                                            "others stay. Nothing changes when any of them is invalid."))
    load.add_argument("file", metavar="FILE", type=Path, help=_("TOML file, as `threadline macros export` writes"))
    dump = actions.add_parser("export", help=_("write every canned reply to a TOML file"),
                              description=_("Write every canned reply to FILE (TOML); `-` writes to the terminal."))
    dump.add_argument("file", metavar="FILE", help=_("TOML file to write, or - for standard output"))
    actions.add_parser("list", help=_("list the canned replies"), description=_("List the canned replies."))
    return parser


def run(args: argparse.Namespace, context: AppContext) -> int:
    if args.macros_command == "import":
        drafts = macro_drafts(args.file.read_text(encoding="utf-8"))
        with context.db.session() as session:
            created, updated = MacroService(session, context.clock).import_drafts(drafts)
        print(_("Imported {file}: {created} canned replies created, {updated} replaced.").format(
            file=args.file, created=created, updated=updated))
        return 0
    with context.db.read_session() as session:
        macros = MacroService(session, context.clock).all()
    if args.macros_command == "export":
        text = macros_toml(macros)
        if args.file == "-":
            print(text, end="")
        else:
            Path(args.file).write_text(text, encoding="utf-8")
            print(_("Wrote {count} canned replies to {file}.").format(count=len(macros), file=args.file))
        return 0
    if not macros:
        print(_("No canned replies yet; add them in the console (F2, then Ctrl+G) or with: "
                "threadline macros import FILE"))
        return 0
    for macro in macros:
        print(f"{macro.name}  [{', '.join(sorted(macro.texts))}]")
    return 0

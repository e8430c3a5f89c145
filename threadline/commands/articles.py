"""`threadline articles import DIR` and `threadline articles export DIR`: help-center articles as Markdown files."""
from __future__ import annotations

import argparse
from pathlib import Path

from core.article_files import export_articles, import_articles
from core.i18n import _
from threadline.context import AppContext


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "articles", help=_("import and export help-center articles"),
        description=_("Keep help-center articles as Markdown files (one per article, with front matter: title, "
                      "slug, language, tags, published), for example in git."),
    )
    actions = parser.add_subparsers(dest="articles_command", metavar=_("ACTION"), required=True)
    load = actions.add_parser(
        "import", help=_("create or update articles from the Markdown files in a folder"),
        description=_("Read every .md file under DIR and create the article, or update the one with the same "
                      "language and slug. Nothing is changed when any file has a mistake."))
    load.add_argument("folder", metavar="DIR", type=Path, help=_("folder holding the article files"))
    save = actions.add_parser(
        "export", help=_("write every article to a folder as Markdown files"),
        description=_("Write every article, drafts too, to DIR/<language>/<slug>.md; existing files with the "
                      "same names are replaced."))
    save.add_argument("folder", metavar="DIR", type=Path, help=_("folder to write the article files to"))
    return parser


def run(args: argparse.Namespace, context: AppContext) -> int:
    folder: Path = args.folder
    if args.articles_command == "import":
        with context.db.session() as session:
            summary = import_articles(session, context.clock, folder)
        print(_("Imported articles from {folder}: {created} created, {updated} updated, {unchanged} unchanged.")
              .format(folder=folder, created=summary.created, updated=summary.updated, unchanged=summary.unchanged))
        return 0
    with context.db.read_session() as session:
        written = export_articles(session, context.clock, folder)
    print(_("Exported {count} articles to {folder}.").format(count=len(written), folder=folder))
    return 0

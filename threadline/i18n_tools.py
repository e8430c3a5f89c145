"""Maintaining the gettext catalogs: extract msgids, update every language's .po, compile .mo, report gaps.

    python -m threadline.i18n_tools all       # extract + update + compile + check (what you usually want)
    python -m threadline.i18n_tools extract   # source -> locale/threadline.pot
    python -m threadline.i18n_tools update    # .pot -> locale/<lang>/LC_MESSAGES/threadline.po (new languages created)
    python -m threadline.i18n_tools compile   # .po -> .mo
    python -m threadline.i18n_tools check     # list missing, empty or fuzzy translations; exit 1 if any
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "locale"
POT = LOCALE_DIR / "threadline.pot"
DOMAIN = "threadline"
LANGUAGES = ("en", "de", "fr", "es", "pt_BR", "ja", "pl", "ar")
KEYWORDS = ("_", "N_", "gettext", "ngettext:1,2")


def _pybabel(*args: str) -> None:
    # Babel ships no type annotations for its command line.
    CommandLineInterface().run(["pybabel", "-q", *args])  # type: ignore[no-untyped-call]


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def _without_dates(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if "-Date: " not in line)


def extract() -> None:
    before = POT.read_text(encoding="utf-8") if POT.exists() else ""
    keywords = [part for keyword in KEYWORDS for part in ("-k", keyword)]
    _pybabel("extract", "-F", str(ROOT / "babel.cfg"), *keywords, "--no-location", "--sort-output",
             "--project", "Threadline", "--copyright-holder", "Threadline contributors",
             "-o", str(POT), str(ROOT))
    if before and _without_dates(POT.read_text(encoding="utf-8")) == _without_dates(before):
        # Nothing but the creation date changed: keep the old file, so catalogs do not churn in git.
        POT.write_text(before, encoding="utf-8")


def update() -> None:
    for language in LANGUAGES:
        if po_path(language).exists():
            # No fuzzy matching: a guessed translation is worse than a visible gap the check reports.
            _pybabel("update", "-i", str(POT), "-d", str(LOCALE_DIR), "-D", DOMAIN, "-l", language,
                     "--no-fuzzy-matching", "--ignore-obsolete")
        else:
            _pybabel("init", "-i", str(POT), "-d", str(LOCALE_DIR), "-D", DOMAIN, "-l", language)


def compile_catalogs() -> None:
    _pybabel("compile", "-d", str(LOCALE_DIR), "-D", DOMAIN)


def gaps(language: str) -> list[str]:
    """msgids of the .pot that language's catalog lacks, leaves empty, or marks fuzzy."""
    with POT.open("rb") as handle:
        template = read_po(handle)
    with po_path(language).open("rb") as handle:
        catalog = read_po(handle, locale=language)
    missing = []
    for message in template:
        if not message.id:
            continue
        translated = catalog.get(message.id)
        strings = translated.string if translated else None
        if isinstance(strings, tuple):
            empty = not all(strings)
        else:
            empty = not strings
        if translated is None or translated.fuzzy or empty:
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


def check() -> int:
    problems = 0
    for language in LANGUAGES:
        if language == "en":
            continue  # English catalogs mirror the source text
        missing = gaps(language)
        problems += len(missing)
        for msgid in missing:
            print(f"{language}: untranslated: {msgid!r}")
    print(f"{problems} untranslated message(s)")
    return 1 if problems else 0


def fill_english() -> None:
    """English is the source language: its catalog's translations are the msgids themselves."""
    path = po_path("en")
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="en")
    for message in catalog:
        if not message.id:
            continue
        message.string = message.id if isinstance(message.id, str) else tuple(message.id)
        message.flags.discard("fuzzy")
    with path.open("wb") as handle:
        write_po(handle, catalog, width=120, omit_header=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m threadline.i18n_tools", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=["all", "extract", "update", "compile", "check"])
    step = parser.parse_args(argv).step
    if step in ("all", "extract"):
        extract()
    if step in ("all", "update"):
        update()
        fill_english()
    if step in ("all", "compile"):
        compile_catalogs()
    if step in ("all", "check"):
        return check()
    return 0


if __name__ == "__main__":
    sys.exit(main())

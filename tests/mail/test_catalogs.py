"""The gettext catalogs: every msgid in the source is translated in every shipped language, and the .mo files match."""
from __future__ import annotations

import gettext
import re

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from threadline.i18n_tools import KEYWORDS, LANGUAGES, LOCALE_DIR, ROOT, po_path

PLACEHOLDER = re.compile(r"\{[a-z_]*[^{}]*\}|%\([a-z_]+\)[sd]")


def _keywords() -> dict[str, tuple]:
    result: dict[str, tuple] = {}
    for keyword in KEYWORDS:
        name, _, spec = keyword.partition(":")
        result[name] = tuple(int(i) for i in spec.split(",")) if spec else (1,)
    return result


@pytest.fixture(scope="module")
def source_msgids() -> set[str | tuple[str, str]]:
    """What pybabel extract finds in core/, mail/, tui/, widget/ and threadline/ right now (per babel.cfg)."""
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: set = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=_keywords()):
        found.add(message if isinstance(message, str) else tuple(message))
    assert len(found) > 50  # the extraction itself works
    return found


def _catalog(language: str):
    with po_path(language).open("rb") as handle:
        return read_po(handle, locale=language)


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_source_msgid_is_translated(source_msgids, language):
    catalog = _catalog(language)
    problems = []
    for msgid in sorted(source_msgids, key=str):
        key = msgid if isinstance(msgid, str) else msgid[0]
        message = catalog.get(key)
        if message is None:
            problems.append(f"missing: {key!r}")
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(f"fuzzy or empty: {key!r}")
            continue
        expected = _placeholders(key if isinstance(msgid, str) else msgid[1])
        for string in strings:
            # pl/ar forms for "one" may spell the number out, but never invent or drop a named placeholder.
            if not _placeholders(string) <= expected | _placeholders(key):
                problems.append(f"placeholders changed: {key!r} -> {string!r}")
    assert not problems, f"{language}: run `python -m threadline.i18n_tools all` and translate:\n" + "\n".join(problems)


def test_plural_rules_of_polish_and_arabic():
    polish, arabic = _catalog("pl"), _catalog("ar")
    assert polish.num_plurals == 3 and arabic.num_plurals == 6
    for catalog in (polish, arabic):
        for message in catalog:
            if message.pluralizable and message.id:
                assert len(message.string) == catalog.num_plurals, message.id


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogs_match_their_sources(language):
    mo = po_path(language).with_suffix(".mo")
    assert mo.is_file(), f"{mo} is missing; run: python -m threadline.i18n_tools compile"
    with mo.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    catalog = _catalog(language)
    catalog_plural_expr = catalog.plural_expr
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, str):
            if message.string and compiled.gettext(message.id) != message.string:
                stale.append(message.id)
        else:
            plural_index = gettext.c2py(catalog_plural_expr)
            for n in (1, 2, 5, 11):
                expected = message.string[plural_index(n)]
                if expected and compiled.ngettext(message.id[0], message.id[1], n) != expected:
                    stale.append(message.id[0])
    assert not stale, f"{language}: .mo is older than .po; run: python -m threadline.i18n_tools compile\n{stale}"


def test_template_is_current(source_msgids):
    with (LOCALE_DIR / "threadline.pot").open("rb") as handle:
        template = {m.id if isinstance(m.id, str) else tuple(m.id) for m in read_po(handle) if m.id}
    missing = {m for m in source_msgids if m not in template}
    assert not missing, f"locale/threadline.pot lacks {len(missing)} msgid(s); run: python -m threadline.i18n_tools all"

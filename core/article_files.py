"""Articles as Markdown files with front matter (one per article, DIR/<language>/<slug>.md), so teams keep them in git.

The front matter is a small YAML subset written and read by hand: one `key: value` per line between `---` lines,
each value JSON (a quoted string, true/false, a list of strings), which YAML reads the same way. An unquoted value is
taken as text, so hand-written files may say `title: Reset your password`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session

from core.articles import ArticleService, public_language
from core.clock import Clock
from core.errors import InvalidInput
from core.i18n import _
from core.language_tags import language_tag
from core.models import Article, row_id
from core.transactions import transactional

FENCE = "---"


@dataclass
class ArticleFile:
    title: str
    slug: str
    language: str
    body: str
    tags: list[str] = field(default_factory=list)
    published: bool = False


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def format_article(article: Article) -> str:
    """The file text of an article: front matter, a blank line, the Markdown body."""
    lines = [
        FENCE,
        f"title: {json.dumps(article.title, ensure_ascii=False)}",
        f"slug: {json.dumps(article.slug)}",
        f"language: {json.dumps(public_language(article.language))}",
        f"tags: {json.dumps(list(article.tags), ensure_ascii=False)}",
        f"published: {'true' if article.published else 'false'}",
        FENCE,
        "",
        "",
    ]
    return "\n".join(lines) + article.body.rstrip("\n") + "\n"


def _value(raw: str, key: str, path: Path) -> object:
    raw = raw.strip()
    if raw in ("true", "false"):
        return raw == "true"
    if raw.startswith(('"', "[")):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            raise InvalidInput(_("{path}: the value of {key} is not valid; write it in double quotes, "
                                 "or as [\"a\", \"b\"] for tags.").format(path=path, key=key)) from None
    return raw


def parse_article(text: str, path: Path) -> ArticleFile:
    """An article file's fields; InvalidInput names the file and what to fix."""
    lines = text.replace("\r\n", "\n").split("\n")
    if not lines or lines[0].strip() != FENCE:
        raise InvalidInput(_("{path}: an article file starts with a --- line, then title:, language: and the "
                             "other fields, then another --- line.").format(path=path))
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == FENCE)
    except StopIteration:
        raise InvalidInput(_("{path}: the front matter has no closing --- line.").format(path=path)) from None
    fields: dict[str, object] = {}
    for number, line in enumerate(lines[1:end], start=2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, colon, raw = line.partition(":")
        if not colon:
            raise InvalidInput(_("{path}, line {line}: write each field as key: value.").format(
                path=path, line=number))
        fields[key.strip()] = _value(raw, key.strip(), path)
    body = "\n".join(lines[end + 1:]).lstrip("\n")
    title, language = fields.get("title"), fields.get("language") or path.parent.name
    if not isinstance(title, str) or not title.strip():
        raise InvalidInput(_("{path}: the front matter needs a title.").format(path=path))
    if not isinstance(language, str):
        raise InvalidInput(_("{path}: language must be a language tag such as en or pt-BR.").format(path=path))
    slug = fields.get("slug") or path.stem
    tags = fields.get("tags") or []
    published = fields.get("published", False)
    if not isinstance(slug, str) or not isinstance(published, bool) or not isinstance(tags, list):
        raise InvalidInput(_("{path}: slug must be text, tags a list such as [\"billing\"], and published true or "
                             "false.").format(path=path))
    return ArticleFile(title=title, slug=slug, language=language, body=body,
                       tags=[str(tag) for tag in tags], published=published)


def export_articles(session: Session, clock: Clock, folder: Path) -> list[Path]:
    """Write every article (drafts too) to folder/<language>/<slug>.md; returns the files written."""
    written = []
    for article in ArticleService(session, clock).articles():
        path = folder / public_language(article.language) / f"{article.slug}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(format_article(article), encoding="utf-8")
        written.append(path)
    return written


def import_articles(session: Session, clock: Clock, folder: Path) -> ImportSummary:
    """Create or update an article for every *.md file under folder (matched by language and slug).

    One transaction: a mistake in any file (found before or while writing) changes nothing.
    """
    return _FolderImport(session, clock).run(folder)


class _FolderImport:
    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    @transactional
    def run(self, folder: Path) -> ImportSummary:
        return _import(self.session, self.clock, folder)


def _import(session: Session, clock: Clock, folder: Path) -> ImportSummary:
    if not folder.is_dir():
        raise InvalidInput(_("{path} is not a folder; give the folder that holds the article files.").format(
            path=folder))
    files = [(path, parse_article(path.read_text(encoding="utf-8"), path)) for path in sorted(folder.rglob("*.md"))]
    for path, found in files:
        try:
            found.language = language_tag(found.language)
        except InvalidInput as error:
            raise InvalidInput(f"{path}: {error.message}") from None
    service = ArticleService(session, clock)
    summary = ImportSummary()
    for _path, found in files:
        existing = service.by_slug(found.language, found.slug)
        if existing is None:
            service.create(found.title, found.body, found.language, slug=found.slug, tags=found.tags,
                           published=found.published)
            summary.created += 1
            continue
        before = (existing.title, existing.body, list(existing.tags), existing.published)
        updated = service.update(row_id(existing), title=found.title, body=found.body, tags=found.tags,
                                 published=found.published)
        if (updated.title, updated.body, list(updated.tags), updated.published) == before:
            summary.unchanged += 1
        else:
            summary.updated += 1
    return summary


"""Full-text search over published articles in one language, best first, with a snippet: FTS5 or PostgreSQL.

One interface (ArticleSearch.search) for both databases. A query is reduced to its words, any of which may match
(a question typed into the widget rarely has every word in one article); the ranking puts articles matching more and
rarer words, and words in the title, first.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from core.article_index import FTS_TABLE, SEARCH_COLUMN, postgresql_configuration
from core.i18n import normalize_tag

MAX_QUERY_WORDS = 16
MAX_WORD_CHARS = 64
MAX_RESULTS = 20
SNIPPET_WORDS = 24
# A word found in a third of the articles (and in at least this many) is left out of a longer query on SQLite.
COMMON_WORD_MIN_ARTICLES = 300

_WORD = re.compile(r"\w+", re.UNICODE)
# Markdown that reads as noise in a one-line plain-text snippet: emphasis, headings, quotes, code fences, link targets.
_MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKDOWN_MARKS = re.compile(r"[*_`#>|~]+")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class ArticleHit:
    """One search result: enough to list it and link to it."""

    id: int
    title: str
    slug: str
    language: str
    snippet: str
    score: float


def _hit(row: Any, snippet: str | None) -> ArticleHit:
    """A database row (either engine's query) as a result, its snippet as plain text."""
    return ArticleHit(id=row.id, title=row.title, slug=row.slug, language=row.language,
                      snippet=plain_snippet(snippet or ""), score=float(row.score))


def query_words(query: str) -> list[str]:
    """The words of a query, lowercased, deduplicated in order, at most MAX_QUERY_WORDS of MAX_WORD_CHARS each.

    Only word characters survive, so neither FTS5's nor PostgreSQL's query syntax can be injected.
    """
    words: list[str] = []
    for word in _WORD.findall(query.lower()):
        word = word[:MAX_WORD_CHARS]
        if word not in words:
            words.append(word)
        if len(words) == MAX_QUERY_WORDS:
            break
    return words


def search_languages(language: str) -> list[str]:
    """The article languages a search in language covers: the tag itself and its primary language (de_AT, de)."""
    tag = normalize_tag(language) or language.strip()
    primary = tag.split("_")[0]
    return [tag] if primary == tag else [tag, primary]


def plain_snippet(snippet: str) -> str:
    """A snippet of Markdown as one line of plain text (link texts kept, marks and line breaks dropped)."""
    snippet = _MARKDOWN_LINK.sub(r"\1", snippet)
    snippet = _MARKDOWN_MARKS.sub("", snippet)
    return _SPACE.sub(" ", snippet).strip()


class ArticleSearch:
    """Searches published articles over one session; read-only."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def search(self, query: str, language: str, limit: int = 3) -> list[ArticleHit]:
        """Published articles in language matching any word of query, best first, at most limit (<= MAX_RESULTS)."""
        words = query_words(query)
        limit = max(1, min(limit, MAX_RESULTS))
        if not words:
            return []
        languages = search_languages(language)
        if self.session.get_bind().dialect.name == "postgresql":
            return self._search_postgresql(words, languages, limit)
        return self._search_sqlite(words, languages, limit)

    def _common_words_sqlite(self, words: list[str]) -> set[str]:
        """Words in so many articles that they say nothing (the, how, and): FTS5 keeps stop words, and ranking every
        article that holds one costs a scan of them all. Counted up to a cap, so each count is cheap; never in a small
        help center, where every word still tells articles apart."""
        total = self.session.execute(text("SELECT coalesce(max(id), 0) FROM article")).scalar_one()
        threshold = max(COMMON_WORD_MIN_ARTICLES, total // 3)
        if total < threshold:
            return set()
        common = set()
        for word in words:
            found = self.session.execute(text(
                "SELECT count(*) FROM (SELECT rowid FROM article_fts WHERE article_fts MATCH :word LIMIT :cap)"
            ), {"word": f'"{word}"', "cap": threshold}).scalar_one()
            if found >= threshold:
                common.add(word)
        return common

    def _search_sqlite(self, words: list[str], languages: list[str], limit: int) -> list[ArticleHit]:
        if len(words) > 1:
            common = self._common_words_sqlite(words)
            words = [word for word in words if word not in common] or words
        # Each word quoted: FTS5 reads a quoted string as a plain phrase, whatever it holds. bm25 is lower for
        # better matches; a title hit counts ten times a body hit.
        match = " OR ".join(f'"{word}"' for word in words)
        placeholders = ", ".join(f":language{i}" for i in range(len(languages)))
        # Ranked first, snippets after: SQLite computes a result column for every row it sorts, and a snippet is
        # far dearer than bm25, so only the page of results gets one.
        ranked = text(f"""
            SELECT a.id AS id, a.title AS title, a.slug AS slug, a.language AS language,
                   -bm25({FTS_TABLE}, 10.0, 1.0) AS score
            FROM {FTS_TABLE} JOIN article AS a ON a.id = {FTS_TABLE}.rowid
            WHERE {FTS_TABLE} MATCH :match AND a.published AND a.language IN ({placeholders})
            ORDER BY bm25({FTS_TABLE}, 10.0, 1.0), a.id
            LIMIT :limit""")  # noqa: S608 - only fixed names and numbered placeholders are formatted in
        parameters: dict[str, Any] = {"match": match, "limit": limit}
        parameters.update({f"language{i}": tag for i, tag in enumerate(languages)})
        rows = list(self.session.execute(ranked, parameters))
        if not rows:
            return []
        ids = ", ".join(str(int(row.id)) for row in rows)
        snippets: dict[int, str] = {row[0]: row[1] for row in self.session.execute(text(f"""
            SELECT rowid, snippet({FTS_TABLE}, 1, '', '', '…', {SNIPPET_WORDS}) FROM {FTS_TABLE}
            WHERE {FTS_TABLE} MATCH :match AND rowid IN ({ids})"""), {"match": match})}  # noqa: S608
        return [_hit(row, snippets.get(row.id)) for row in rows]

    def _search_postgresql(self, words: list[str], languages: list[str], limit: int) -> list[ArticleHit]:
        # The query is parsed with the configuration of the language searched: the same stemmer built the vectors
        # (core.article_index), so "passwords" finds "password". Words are plain \w+, joined with OR; a word that is
        # only a stop word drops out. The headline is computed for the page of results only.
        configuration = postgresql_configuration(languages[0])
        statement = text(f"""
            SELECT ranked.id, ranked.title, ranked.slug, ranked.language, ranked.score,
                   ts_headline(CAST(:configuration AS regconfig), ranked.body, ranked.query,
                               'MaxWords={SNIPPET_WORDS}, MinWords=8, StartSel="", StopSel="", MaxFragments=1,
                                FragmentDelimiter=" … "') AS snippet
            FROM (
                SELECT a.id, a.title, a.slug, a.language, a.body, q.query,
                       ts_rank(a.{SEARCH_COLUMN}, q.query) AS score
                FROM article AS a, to_tsquery(CAST(:configuration AS regconfig), :query) AS q(query)
                WHERE a.{SEARCH_COLUMN} @@ q.query AND a.published AND a.language = ANY(:languages)
                ORDER BY score DESC, a.id
                LIMIT :limit
            ) AS ranked
            ORDER BY ranked.score DESC, ranked.id""")  # noqa: S608 - only fixed names and numbers are formatted in
        rows = self.session.execute(statement, {
            "configuration": configuration, "query": " | ".join(words), "languages": languages, "limit": limit,
        })
        return [_hit(row, row.snippet) for row in rows]

"""The full-text index beside the article table: an FTS5 table on SQLite, a generated tsvector on PostgreSQL.

Neither is a model (SQLModel cannot declare a virtual table or a generated tsvector), so they are created here, by
the migration and by create_all (an after_create hook on the article table), and left out of the schema-vs-models
comparison by `is_model_schema_object`.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

FTS_TABLE = "article_fts"  # spelled out in the SQLite statements below
SEARCH_COLUMN = "search_vector"
SEARCH_INDEX = "ix_article_search"

# PostgreSQL's text-search configurations by primary language subtag; any other language is split on words without
# stemming ('simple'), which suits Japanese, Polish, Arabic and the rest as well as a stemmer for another language.
POSTGRESQL_CONFIGURATIONS = {
    "en": "english", "de": "german", "fr": "french", "es": "spanish", "pt": "portuguese", "it": "italian",
    "nl": "dutch", "sv": "swedish", "da": "danish", "nb": "norwegian", "no": "norwegian", "fi": "finnish",
    "ru": "russian", "hu": "hungarian", "ro": "romanian", "tr": "turkish",
}


def postgresql_configuration(language: str) -> str:
    """The text-search configuration for a language tag (en, pt_BR, ja): english, portuguese, simple."""
    primary = language.replace("-", "_").split("_")[0].lower()
    return POSTGRESQL_CONFIGURATIONS.get(primary, "simple")


def _configuration_expression() -> str:
    # A CASE over constants is immutable, which a generated column requires (a text-to-regconfig cast of a column
    # is not). split_part maps pt_BR to pt.
    cases = " ".join(f"WHEN '{primary}' THEN '{name}'::regconfig"
                     for primary, name in sorted(POSTGRESQL_CONFIGURATIONS.items()))
    return f"(CASE split_part(language, '_', 1) {cases} ELSE 'simple'::regconfig END)"


def _postgresql_statements() -> list[str]:
    config = _configuration_expression()
    # Title words weigh more than body words (weight A over B) in ts_rank.
    vector = (f"setweight(to_tsvector({config}, coalesce(title, '')), 'A') || "
              f"setweight(to_tsvector({config}, coalesce(body, '')), 'B')")
    return [
        f"ALTER TABLE article ADD COLUMN {SEARCH_COLUMN} tsvector GENERATED ALWAYS AS ({vector}) STORED",
        f"CREATE INDEX {SEARCH_INDEX} ON article USING gin ({SEARCH_COLUMN})",
    ]


def _sqlite_statements() -> list[str]:
    # External content: the FTS table stores only the index and reads title and body from article by rowid. The
    # porter stemmer is English-only; on other languages it mostly leaves words alone, and unicode61 folds case and
    # diacritics for all. Triggers keep the index in step with every writer (the service, imports, plain SQL).
    # A future migration that rebuilds the article table (SQLite batch mode) must create the triggers again.
    insert = "INSERT INTO article_fts(rowid, title, body) VALUES (new.id, new.title, new.body);"
    delete = "INSERT INTO article_fts(article_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);"
    return [
        "CREATE VIRTUAL TABLE article_fts USING fts5(title, body, content='article', content_rowid='id', "
        "tokenize='porter unicode61 remove_diacritics 2')",
        f"CREATE TRIGGER article_fts_insert AFTER INSERT ON article BEGIN {insert} END",
        f"CREATE TRIGGER article_fts_delete AFTER DELETE ON article BEGIN {delete} END",
        f"CREATE TRIGGER article_fts_update AFTER UPDATE OF title, body ON article BEGIN {delete} {insert} END",
        "INSERT INTO article_fts(article_fts) VALUES ('rebuild')",
    ]


def create_article_index(connection: Connection) -> None:
    """Create the search index for the article table that already exists on connection."""
    dialect = connection.dialect.name
    statements = _postgresql_statements() if dialect == "postgresql" else _sqlite_statements()
    for statement in statements:
        connection.execute(text(statement))


def drop_article_index(connection: Connection) -> None:
    """Drop the search index (before the article table is dropped)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"DROP INDEX IF EXISTS {SEARCH_INDEX}"))
        connection.execute(text(f"ALTER TABLE article DROP COLUMN IF EXISTS {SEARCH_COLUMN}"))
        return
    for trigger in ("insert", "delete", "update"):
        connection.execute(text(f"DROP TRIGGER IF EXISTS {FTS_TABLE}_{trigger}"))
    connection.execute(text(f"DROP TABLE IF EXISTS {FTS_TABLE}"))


def after_article_table_created(target: Any, connection: Connection, **_kw: Any) -> None:
    """The after_create hook core.models registers on the article table, so create_all builds the index too."""
    create_article_index(connection)


def is_model_schema_object(name: str | None, type_: str, parent_names: dict[str, Any] | Iterable[str]) -> bool:
    """Alembic's include_name hook: False for the search index's parts, which no model declares.

    FTS5 keeps its index in shadow tables named article_fts_*; PostgreSQL has the generated column and its index.
    """
    if name is None:
        return True
    if type_ == "table":
        return not (name == FTS_TABLE or name.startswith(f"{FTS_TABLE}_"))
    if type_ == "column" and isinstance(parent_names, dict) and parent_names.get("table_name") == "article":
        return name != SEARCH_COLUMN
    if type_ == "index":
        return name != SEARCH_INDEX
    return True

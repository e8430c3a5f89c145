"""Shared fixtures: a real database (a SQLite file, or PostgreSQL when THREADLINE_TEST_DATABASE_URL is set) and a fixed clock."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import text

from core import schema
from core.clock import FixedClock
from core.db import Database

# Fixture modules owned by each part of the product; each registers its own fixtures.
pytest_plugins = [
    "tests.fixtures.mailservers",
    "tests.fixtures.smtp",
    "tests.fixtures.imap",
    "tests.fixtures.tls",
]

TEST_DATABASE_URL = os.environ.get("THREADLINE_TEST_DATABASE_URL", "")


def _reset_postgresql(url: str) -> None:
    database = Database(url)
    with database.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    database.dispose()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A fresh, empty database URL for one test."""
    if TEST_DATABASE_URL:
        _reset_postgresql(TEST_DATABASE_URL)
        return TEST_DATABASE_URL
    return f"sqlite:///{tmp_path / 'threadline.db'}"


@pytest.fixture
def db(database_url: str):
    """A migrated database on a real file (or PostgreSQL), disposed after the test."""
    database = Database(database_url)
    schema.upgrade(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def session(db: Database):
    with db.session() as session:
        yield session

"""Shared fixtures: a real database (a SQLite file, or PostgreSQL when THREADLINE_TEST_DATABASE_URL is set), a fixed
clock, and the `database` and `sqlite_only` markers."""
from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

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
# Under pytest-xdist each worker process (gw0, gw1, ...) is told its name here; "" when pytest runs alone.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def _worker_database_url(url: str, worker: str) -> str:
    """The database this process may empty before every test: the given one, or under pytest-xdist a database of
    this worker's own next to it (threadline_test_gw0, ...), created when missing, so that no worker drops the schema
    another worker's test is using."""
    if not worker:
        return url
    parsed = make_url(url)
    own = parsed.set(database=f"{parsed.database}_{worker}")
    server = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")  # CREATE DATABASE needs it
    with server.connect() as connection:
        exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                    {"name": own.database}).scalar()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{own.database}"'))
    server.dispose()
    return own.render_as_string(hide_password=False)


@functools.cache
def _test_database_url() -> str:
    """THREADLINE_TEST_DATABASE_URL as this process uses it (see _worker_database_url); asked once per process."""
    return _worker_database_url(TEST_DATABASE_URL, XDIST_WORKER)


def _reset_postgresql(url: str) -> None:
    database = Database(url)
    with database.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    database.dispose()


def _shares_a_module_fixture(item: pytest.Item) -> bool:
    """Whether item uses a fixture made once per module (a browser, an S3 server, a built wheel...)."""
    fixtures = getattr(item, "_fixtureinfo", None)  # what pytest resolved for a test function; None for other items
    return fixtures is not None and any(definition.scope in ("package", "module", "class")
                                        for definitions in fixtures.name2fixturedefs.values()
                                        for definition in definitions)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook reads the xdist_group marks given here
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Make the markers real.

    `database`: given to every test that uses the `database_url` fixture (directly or through `db`, `session`, ...).
    THREADLINE_TEST_DATABASE_URL reaches tests only through that fixture, so these are exactly the tests whose run
    differs on PostgreSQL. With that variable set, every other test is deselected: it would only repeat its SQLite run
    (this is how tests/run's PostgreSQL phase picks its tests, and it composes with any -m or -k given).
    `sqlite_only(reason=...)`: skipped, with its reason, whenever THREADLINE_TEST_DATABASE_URL is set.
    `xdist_group`: tests/run spreads single tests over pytest-xdist workers (--dist loadgroup); the tests of a module
    that share a module-scoped fixture are kept on one worker, so that fixture is made once, not once per worker
    (and test_wheel.py's build in the checkout never runs twice at the same time).
    """
    kept, deselected = [], []
    for item in items:
        if _shares_a_module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
        if "database_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.database)
            kept.append(item)
        else:
            deselected.append(item)
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None and TEST_DATABASE_URL:
            item.add_marker(pytest.mark.skip(reason=marker.kwargs.get("reason", "meaningful on SQLite alone")))
    if TEST_DATABASE_URL and deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A fresh, empty database URL for one test."""
    if TEST_DATABASE_URL:
        url = _test_database_url()
        _reset_postgresql(url)
        return url
    return f"sqlite:///{tmp_path / 'threadline.db'}"


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database file that Alembic migrated to the newest schema, made once per session.

    Running every migration costs about 0.3-0.5 s on this machine, and several hundred tests need a migrated database:
    `db` copies this file instead, which gives each test the very bytes `schema.upgrade` would have written.
    Never opened again after it is made, so copies cannot carry a later test's data.
    """
    path = tmp_path_factory.mktemp("migrated") / "threadline.db"
    database = Database(f"sqlite:///{path}")
    schema.upgrade(database.engine)
    database.dispose()  # the last connection closing checkpoints the WAL into the file
    return path


@pytest.fixture
def db(database_url: str, request: pytest.FixtureRequest):
    """A migrated database on a real file (or PostgreSQL), disposed after the test."""
    if database_url.startswith("sqlite:///"):
        template: Path = request.getfixturevalue("migrated_sqlite_file")
        target = Path(database_url.removeprefix("sqlite:///"))
        for part in template.parent.glob(template.name + "*"):  # the file, and a -wal/-shm if one was left
            shutil.copyfile(part, target.with_name(target.name + part.name.removeprefix(template.name)))
        database = Database(database_url)
    else:
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

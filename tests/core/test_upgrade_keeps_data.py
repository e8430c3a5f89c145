"""Upgrades keep data (issue 16): a database at the oldest migration (0001), filled with rows in every table and every
column, is upgraded by `threadline init`; every row and value survives, and the data migrations derive what they
promise (proven addresses, notification addresses, address keys). Runs on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import command

from core import schema
from core.db import Database
from tests.core.test_cli_and_schema import run_cli

OLDEST = "0001"
WHEN = datetime(2025, 3, 4, 5, 6, 7)  # stored naive UTC, as core.models.UTCDateTime writes it
ROWS_PER_TABLE = 2
# Column values with a meaning (enums, addresses, bodies); every other column gets a filler of its type.
MEANINGFUL: dict[tuple[str, str], Any] = {
    ("agent", "status"): "online",
    ("agent", "handle"): "ann{n}",
    ("enduser", "email"): "Alice{n}@Example.net",
    ("enduser", "email_verified"): True,
    ("enduser", "language"): "de",
    ("conversation", "status"): "open",
    ("conversation", "channel"): "messaging",
    ("conversation", "last_message_channel"): "email",
    ("conversation", "tags"): ["billing", "vip"],
    ("message", "author_kind"): "end_user",
    ("message", "channel"): "email",
    ("message", "body"): "Hallo, mein Paket ({n}) ist nicht angekommen. <b>Bitte</b> helfen Sie!",
    ("message", "meta"): None,
    ("outboxjob", "status"): "sent",
    ("outboxjob", "to_address"): "Alice{n}@Example.net",
    ("inbound_email", "outcome"): "posted",
    ("inbound_email", "held_status"): "pending",
    ("inbound_email", "decision"): None,
    ("inbound_email", "raw_source"): b"From: alice@example.net\r\nSubject: Re\r\n\r\nDanke!\r\n",
    ("trigger", "conditions"): {"all": [{"field": "channel", "is": "email"}]},
    ("trigger", "actions"): [{"type": "tag", "value": "email"}],
    ("trigger", "texts"): {"de": "Danke"},
    ("event", "payload"): {"end_user_id": 1, "note": "käse"},
    ("setting", "value"): {"brand_name": "Acme"},
}


def _filler(table: sa.Table, column: sa.Column, n: int) -> Any:
    key = (table.name, column.name)
    if key in MEANINGFUL:
        value = MEANINGFUL[key]
        return value.format(n=n) if isinstance(value, str) else value
    if column.foreign_keys:
        return 1  # the first row of the referenced table, inserted before (tables go in dependency order)
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return n % 2 == 0
    if isinstance(kind, sa.Integer | sa.BigInteger):
        return n
    if isinstance(kind, sa.Float | sa.Numeric):
        return 1.5 * n
    if isinstance(kind, sa.DateTime):
        return WHEN.replace(minute=n)
    if isinstance(kind, sa.JSON):
        return {"n": n}
    if isinstance(kind, sa.LargeBinary):
        return bytes([n]) * 3
    if isinstance(kind, sa.Enum):
        return kind.enums[0]
    if isinstance(kind, sa.String | sa.Text):
        text = f"{table.name}-{column.name}-{n}-ü"
        return text[: kind.length] if getattr(kind, "length", None) else text
    raise AssertionError(f"no filler for {table.name}.{column.name} ({kind!r})")


def _fill(engine: sa.Engine) -> dict[str, list[dict[str, Any]]]:
    """One insert per row, every column given (the primary key too, so rows can be found again)."""
    metadata = sa.MetaData()
    metadata.reflect(engine)
    written: dict[str, list[dict[str, Any]]] = {}
    with engine.begin() as connection:
        for table in metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            rows = []
            for n in range(1, ROWS_PER_TABLE + 1):
                row = {column.name: _filler(table, column, n) for column in table.columns}
                connection.execute(table.insert().values(**row))
                rows.append(row)
            written[table.name] = rows
        if connection.dialect.name == "postgresql":  # explicit ids leave the sequences behind: move them on
            for table in metadata.sorted_tables:
                if "id" in table.columns and isinstance(table.columns["id"].type, sa.Integer):
                    highest = connection.execute(sa.select(sa.func.max(table.c.id))).scalar_one()
                    connection.execute(sa.select(sa.func.setval(sa.func.pg_get_serial_sequence(table.name, "id"),
                                                                highest)))
    return written


def _read(engine: sa.Engine) -> dict[str, sa.Table]:
    metadata = sa.MetaData()
    metadata.reflect(engine)
    return dict(metadata.tables)


def _same(expected: Any, found: Any) -> bool:
    if isinstance(expected, bytes):
        return bytes(found) == expected
    if isinstance(expected, float):
        return abs(float(found) - expected) < 1e-9
    return bool(found == expected)


def test_init_upgrades_a_database_at_the_oldest_migration_and_every_row_survives(database_url, tmp_path):
    database = Database(database_url)
    try:
        command.upgrade(schema.alembic_config(database.engine), OLDEST)
        assert schema.current_revision(database.engine) == OLDEST
        written = _fill(database.engine)
        assert len(written) >= 12, sorted(written)  # every table of the first release
    finally:
        database.dispose()

    upgraded = run_cli("init", data_dir=tmp_path, extra_env={"THREADLINE_DATABASE_URL": database_url})
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"from revision {OLDEST} to {schema.known_revisions()[-1]}" in upgraded.stdout

    database = Database(database_url)
    try:
        assert schema.current_revision(database.engine) == schema.known_revisions()[-1]
        tables = _read(database.engine)
        with database.engine.connect() as connection:
            for name, rows in written.items():
                table = tables[name]
                key = [column for column in table.primary_key.columns]
                for row in rows:
                    where = sa.and_(*[column == row[column.name] for column in key])
                    found = connection.execute(sa.select(table).where(where)).mappings().one_or_none()
                    assert found is not None, f"{name} row {row} is gone"
                    for column, value in row.items():
                        if column in found:
                            assert _same(value, found[column]), f"{name}.{column}: {value!r} became {found[column]!r}"
                total = connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                assert total == len(rows), name
            # What the data migrations derive from the old rows (0002): proven addresses, keys for the caps.
            proven = connection.execute(sa.select(tables["verified_address"].c.end_user_id)).scalars().all()
            assert sorted(proven) == [1, 2]
            keys = connection.execute(sa.select(tables["outboxjob"].c.address_key)).scalars().all()
            assert sorted(keys) == ["alice1@example.net", "alice2@example.net"]
    finally:
        database.dispose()
    doctor = run_cli("doctor", data_dir=tmp_path, extra_env={"THREADLINE_DATABASE_URL": database_url})
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr


def test_migrating_leaves_foreign_keys_enforced_on_the_engines_connections(database_url):
    """SQLite migrations run with foreign keys off (table rebuilds); the pooled connection gets them back."""
    database = Database(database_url)
    try:
        schema.upgrade(database.engine)
        if database.engine.dialect.name == "sqlite":
            with database.engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    finally:
        database.dispose()

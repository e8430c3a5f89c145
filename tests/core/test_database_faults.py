"""Database faults in core: another process's write lock (DatabaseBusy, reads unaffected), a full disk and damaged
pages (the health board), each on a real SQLite file."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, func
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from core import schema
from core.conversations import ConversationService
from core.db import Database
from core.errors import DatabaseBusy
from core.models import Message
from tests.fixtures.database_faults import (
    damaged_copy,
    fill_disk,
    sqlite_path,
    tiny_disk,
    write_lock_held_by_another_process,
)
from tests.widget.conftest import within

sqlite_only = pytest.mark.sqlite_only(reason="SQLite's file lock, pages and quick_check; PostgreSQL has none of them")


def _conversation(db: Database, clock) -> int:
    with db.session() as session:
        service = ConversationService(session, clock)
        conversation_id = service.start_conversation(service.create_end_user("Eve").id).id
        service.post_end_user_message(conversation_id, "first")
    return conversation_id


def _message_count(db: Database) -> int:
    with db.read_session() as session:
        return session.exec(select(func.count()).select_from(Message)).one()


@sqlite_only
def test_a_write_under_another_processs_lock_is_refused_as_busy_and_changes_nothing(db, clock):
    conversation_id = _conversation(db, clock)
    busy_db = Database(db.url, write_timeout=0.2)
    try:
        with write_lock_held_by_another_process(sqlite_path(db.url)):
            with busy_db.session() as session, pytest.raises(DatabaseBusy) as refused:
                ConversationService(session, clock).post_end_user_message(conversation_id, "while locked")
            assert refused.value.code == "database_busy" and refused.value.retry_after == 1
            assert "another process" in refused.value.message and "try again" in refused.value.message
            # Reads go on while the lock is held.
            with busy_db.read_session() as session:
                assert [m.body for m in ConversationService(session, clock).transcript(conversation_id)] == ["first"]
        with busy_db.session() as session:
            ConversationService(session, clock).post_end_user_message(conversation_id, "after the lock")
        assert _message_count(db) == 2
        assert busy_db.health.problems() == {}  # busy is not a fault of the database
    finally:
        busy_db.dispose()


@sqlite_only
def test_writers_waiting_for_the_lock_never_take_the_connections_reads_need(db, clock):
    conversation_id = _conversation(db, clock)
    # Long enough that every writer is still waiting while the read runs; the lock is released well before.
    waiting_db = Database(db.url, write_timeout=120)
    writers = 20  # more than the read pool's 5 + 10 connections
    arrived = threading.Semaphore(0)
    errors: list[BaseException] = []

    def count_lock_requests(conn, cursor, statement, *args) -> None:
        if statement == "BEGIN IMMEDIATE":
            arrived.release()

    def write(n: int) -> None:
        try:
            with waiting_db.session() as session:
                ConversationService(session, clock).post_end_user_message(conversation_id, f"writer {n}")
        except BaseException as exc:  # noqa: BLE001 - surfaced below: a thread's exception would otherwise vanish
            errors.append(exc)

    for engine in waiting_db.engines:
        event.listen(engine, "before_cursor_execute", count_lock_requests)
    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    try:
        with write_lock_held_by_another_process(sqlite_path(db.url)):
            for thread in threads:
                thread.start()
            for _ in range(writers):
                assert arrived.acquire(timeout=30), "the writers did not all reach the lock"

            def read() -> list[str]:
                with waiting_db.read_session() as session:
                    return [m.body for m in ConversationService(session, clock).transcript(conversation_id)]

            assert within(20, read) == ["first"]
    finally:
        for thread in threads:
            thread.join(60)
        waiting_db.dispose()
    assert errors == []
    assert _message_count(db) == 1 + writers


@sqlite_only
def test_a_full_disk_degrades_health_until_a_write_commits_again(clock):
    with tiny_disk("2m") as folder:
        db = Database(f"sqlite:///{folder / 'threadline.db'}")
        try:
            schema.upgrade(db.engine)
            conversation_id = _conversation(db, clock)
            filler = fill_disk(folder)
            with db.session() as session, pytest.raises(DBAPIError):
                service = ConversationService(session, clock)
                for n in range(100):  # until the pages no longer fit
                    service.post_end_user_message(conversation_id, f"{n} " + "x" * 4000)
            [reason] = db.health.problems().values()
            assert "disk is full" in reason and "free space" in reason
            assert _message_count(db) == 1 + n  # the failing write left nothing behind
            filler.unlink()
            with db.session() as session:
                ConversationService(session, clock).post_end_user_message(conversation_id, "space again")
            assert db.health.problems() == {}
        finally:
            db.dispose()


@sqlite_only
def test_damaged_pages_degrade_health_and_an_empty_commit_does_not_clear_it(db, clock, tmp_path):
    conversation_id = _conversation(db, clock)
    damaged = Database(damaged_copy(db.url, tmp_path, "conversation"))
    try:
        with damaged.session() as session, pytest.raises(DBAPIError):
            ConversationService(session, clock).post_end_user_message(conversation_id, "onto bad pages")
        [reason] = damaged.health.problems().values()
        assert "damaged" in reason and "restore the database from a backup" in reason
        with damaged.session() as session:
            session.commit()  # wrote nothing, so it proves nothing
        assert damaged.health.problems() == {"database": reason}
    finally:
        damaged.dispose()

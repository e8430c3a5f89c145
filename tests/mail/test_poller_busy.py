"""The poller under another process's write lock: the email is retried later, never recorded as refused."""
from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlmodel import select

from core.config import Config
from core.db import Database
from core.errors import DatabaseBusy
from core.inbound import InboundEmail, InboundOutcome
from mail.poller import ImapPoller
from tests.fixtures.database_faults import sqlite_path, write_lock_held_by_another_process

RAW = (b"From: Ann <ann@example.org>\r\nTo: help@example.com\r\nSubject: Where is my order?\r\n"
       b"Message-ID: <busy-1@example.org>\r\n\r\nIt has not arrived.\r\n")


@pytest.mark.sqlite_only(reason="SQLite's file lock")
def test_an_email_that_met_a_busy_database_is_retried_not_recorded_as_refused(db, clock):
    busy_db = Database(db.url, write_timeout=0.2)
    poller = ImapPoller(busy_db, Config(), clock, None)
    try:
        with write_lock_held_by_another_process(sqlite_path(db.url)) as holder:
            def release_after_the_first_try(*_args) -> None:
                # The other process lets go right after the refused attempt, as it would a moment later.
                holder.stdin.close()
                holder.wait(30)

            event.listen(busy_db.write_engine, "checkin", release_after_the_first_try, once=True)
            with pytest.raises(DatabaseBusy):
                poller._file(RAW, uidvalidity=1, uid=7)
        with db.read_session() as session:
            assert list(session.exec(select(InboundEmail))) == []
        record = poller._file(RAW, uidvalidity=1, uid=7)  # what the reconnect does: the same email again
        assert record.outcome is not InboundOutcome.refused
    finally:
        busy_db.dispose()

"""Pilot tests of the Mail screen (issue 12): an agent posts any refused email with its text intact, or discards it."""
from __future__ import annotations

import threading

from sqlalchemy import event
from sqlmodel import select
from textual.widgets import DataTable

from core.config import Config
from core.conversations import ConversationService
from core.end_users import EndUserService
from core.events import EventLog
from core.inbound import InboundDecision, InboundEmail, InboundOutcome, InboundService, IncomingEmail, Verdict
from core.models import Attachment, AttachmentBlob, Conversation
from core.settings import SettingsService
from core.tokens import TokenSigner
from mail.routing import file_raw_email
from tests.mail.test_held_email_attachments import PNG, email_with_files
from tests.tui.conftest import console_config
from tests.tui.helpers import wait_for
from tui.screens.mail import MailScreen
from tui.screens.pick_conversation import ConversationPicker


def _file(desk, raw: bytes) -> InboundEmail:
    with desk.db.session() as session:
        SettingsService(session, desk.clock).update(support_address="help@example.com", brand_name="Acme Help")
        return file_raw_email(session, desk.clock, Config(), TokenSigner("mail-screen-test-secret-0123"), raw,
                              mailbox="INBOX", uidvalidity=1, uid=1)


def _record(desk, inbound_id: int) -> InboundEmail:
    with desk.db.read_session() as session:
        return session.get(InboundEmail, inbound_id)


def _last_body(desk, conversation_id: int) -> str:
    with desk.db.read_session() as session:
        return ConversationService(session, desk.clock).transcript(conversation_id)[-1].body


async def _open_refused(pilot, app, count: int = 1) -> DataTable:
    await pilot.press("f3")
    await wait_for(pilot, lambda: isinstance(app.screen, MailScreen) and app.screen.data is not None
                   and app.screen.query_one("#refused", DataTable).row_count == count, what="refused emails listed")
    table = app.screen.query_one("#refused", DataTable)
    table.focus()
    return table


async def test_a_refused_email_is_posted_into_a_conversation_the_agent_picks(desk, make_console):
    alex = desk.conversations["alex"]
    with desk.db.session() as session:
        EndUserService(session, desk.clock).block(desk.end_users["alex"])
    text = "Sorry for the angry mail, [b]please[/b] reopen order #4411."
    record = _file(desk, ("From: Alex Doe <alex@example.com>\r\nTo: help@example.com\r\nSubject: order\r\n"
                          "Message-ID: <blocked-1@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                          f"{text}\r\n").encode())
    assert record.outcome is InboundOutcome.refused
    app = make_console()
    ui_thread, on_ui_thread = threading.current_thread(), []

    def before_execute(conn, cursor, statement, *args):
        if threading.current_thread() is ui_thread:
            on_ui_thread.append(statement)

    event.listen(desk.db.engine, "before_cursor_execute", before_execute)
    async with app.run_test(size=(120, 36)) as pilot:
        table = await _open_refused(pilot, app)
        assert "blocked" in str(table.get_row_at(0)[2])
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConversationPicker) and app.screen.candidates
                       and app.screen.query_one("#pick-table", DataTable).row_count == 1, what="alex offered")
        assert app.screen.query_one("#pick-search").value == "alex@example.com"
        await pilot.press("enter", "enter")  # from the search to the list, then pick the row
        # Only the UI is watched here: the test's own queries would run on the UI thread.
        await wait_for(pilot, lambda: isinstance(app.screen, MailScreen)
                       and app.screen.query_one("#refused", DataTable).row_count == 0, what="row gone")
    event.remove(desk.db.engine, "before_cursor_execute", before_execute)
    assert on_ui_thread == []
    assert _record(desk, record.id).decision is InboundDecision.posted
    assert _record(desk, record.id).conversation_id == alex
    assert _last_body(desk, alex) == text


async def test_an_email_refused_by_the_old_control_character_rule_is_posted_with_one_key(desk, make_console):
    # What issue 12 found in the field: refused as a whole because of an ESC; the agent posts it anyway.
    with desk.db.session() as session:
        record = InboundService(session, desk.clock).file(
            IncomingEmail(
                message_id="<esc-1@example.net>",
                sender="new.person@example.net",
                sender_name="New Person",
                raw=b"From: new.person@example.net\r\nSubject: Export\r\n\r\nThe export\x1b[2J fails\x0c.\r\n",
                subject="Export",
                text="The export\x1b[2J fails\x0c.",
            ),
            Verdict(InboundOutcome.refused, "The email could not be processed (InvalidInput)."),
        )
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await _open_refused(pilot, app)
        await pilot.press("a")
        await wait_for(pilot, lambda: _record(desk, record.id).decision is InboundDecision.posted, what="posted")
    posted = _record(desk, record.id)
    assert _last_body(desk, posted.conversation_id) == "The export fails\n."
    with desk.db.read_session() as session:
        conversation = session.get(Conversation, posted.conversation_id)
        assert conversation.channel.value == "email" and conversation.id not in desk.conversations.values()


async def test_a_refused_email_is_discarded_and_the_decision_is_logged(desk, make_console):
    record = _file(desk, b"From: Deals <deals@shop.example>\r\nTo: help@example.com\r\nSubject: 50% off\r\n"
                         b"Message-ID: <deal-1@shop.example>\r\nPrecedence: bulk\r\n\r\nBuy now.\r\n")
    assert record.outcome is InboundOutcome.auto_reply
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await _open_refused(pilot, app)
        await pilot.press("x", "y")  # discard, and confirm
        await wait_for(pilot, lambda: _record(desk, record.id).decision is InboundDecision.discarded, what="discarded")
        await wait_for(pilot, lambda: app.screen.query_one("#refused", DataTable).row_count == 0, what="row gone")
    with desk.db.read_session() as session:
        [event] = [e for e in EventLog(session).after(0) if e.kind == "inbound.rejected"]
        assert event.payload["inbound_id"] == record.id and event.payload["agent_id"] == desk.agent_id
        assert session.exec(select(InboundEmail).where(InboundEmail.id == record.id)).one().raw_source


async def test_posting_a_refused_email_from_the_mail_screen_stores_its_files_under_the_consoles_limit(
        desk, make_console):
    record = _file(desk, email_with_files(to="help+1-forgedtoken@example.com", message_id="<files-1@example.net>"))
    assert record.outcome is InboundOutcome.refused
    config = console_config()
    config.attachments.max_bytes = len(PNG) + 10  # the screenshot fits, the invoice does not
    app = make_console(config=config)
    async with app.run_test(size=(120, 36)) as pilot:
        await _open_refused(pilot, app)
        await pilot.press("n")  # post as a new conversation
        await wait_for(pilot, lambda: app.screen.query_one("#refused", DataTable).row_count == 0, what="row gone")
    posted = _record(desk, record.id)
    with desk.db.read_session() as session:
        stored = session.exec(select(Attachment).where(Attachment.message_id == posted.posted_message_id)).all()
        assert [(a.name, a.content_type) for a in stored] == [("screenshot.png", "image/png")]
        assert session.get(AttachmentBlob, stored[0].sha256).content == PNG
    assert "invoice.pdf (" in posted.attachments and "not stored" in posted.attachments

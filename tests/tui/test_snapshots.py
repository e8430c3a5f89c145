"""Snapshots of each screen at 120x36 on fixed data and a fixed clock (baselines in tests/tui/__snapshots__)."""
from __future__ import annotations

from textual.widgets import DataTable

from core.models import OutboxJob, OutboxStatus
from core.settings import SettingsService
from core.triggers import TriggerService
from tests.tui.helpers import rows_loaded, wait_for
from tui.screens.conversation import ConversationScreen
from tui.screens.help import HelpScreen
from tui.screens.mail import MailScreen
from tui.screens.settings import SettingsScreen

SIZE = (120, 36)


async def _queue_ready(pilot) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: rows_loaded(app) and any("waiting" in n.message for n in app._notifications))
    app.clear_notifications()
    await pilot.pause()


def test_queue_screen(desk, make_console, snap_compare):
    assert snap_compare(make_console(), terminal_size=SIZE, run_before=_queue_ready)


def test_conversation_screen(desk, make_console, snap_compare):
    async def run_before(pilot) -> None:
        await _queue_ready(pilot)
        pilot.app.open_conversation(desk.conversations["chen"])
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConversationScreen)
                       and pilot.app.screen.shown is not None and pilot.app.screen.query(".message"))
        await pilot.pause()

    assert snap_compare(make_console(), terminal_size=SIZE, run_before=run_before)


def test_conversation_with_markup_shown_literally(desk, make_console, snap_compare):
    async def run_before(pilot) -> None:
        await _queue_ready(pilot)
        pilot.app.open_conversation(desk.conversations["dana"])
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConversationScreen)
                       and pilot.app.screen.shown is not None and pilot.app.screen.query(".message"))
        await pilot.pause()

    assert snap_compare(make_console(), terminal_size=SIZE, run_before=run_before)


def test_settings_screen(desk, make_console, snap_compare):
    with desk.db.session() as session:
        SettingsService(session, desk.clock).update(support_address="help@example.com", brand_name="Acme")
        TriggerService(session, desk.clock).ensure_builtins()

    async def run_before(pilot) -> None:
        await _queue_ready(pilot)
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SettingsScreen) and pilot.app.screen.data
                       and pilot.app.screen.query_one("#triggers", DataTable).row_count == 2)
        await wait_for(pilot, lambda: "Subject" in str(pilot.app.screen.query_one("#template-preview").render()))
        await pilot.pause()

    assert snap_compare(make_console(), terminal_size=SIZE, run_before=run_before)


def test_mail_screen(desk, make_console, snap_compare):
    with desk.db.session() as session:
        session.add(OutboxJob(conversation_id=desk.conversations["chen"], idempotency_key="snap-1", first_seq=2,
                              last_seq=2, to_address="chen@example.com", message_id="<snap1@example.com>",
                              status=OutboxStatus.bounced, next_attempt_at=desk.clock.now(),
                              created_at=desk.clock.now(), sent_at=desk.clock.now(),
                              last_error="550 5.1.1 mailbox unavailable"))
        session.commit()
        from core.inbound import IncomingEmail, InboundOutcome, InboundService, Verdict

        inbound = InboundService(session, desk.clock)
        inbound.file(IncomingEmail(message_id="<held@example.net>", sender="boss@example.net", sender_name="Boss",
                                   raw=b"Subject: Re: order\r\n\r\nPlease hurry.", subject="Re: order",
                                   text="Please hurry."),
                     Verdict(InboundOutcome.held, "valid reply token, other sender", desk.conversations["alex"]))
        inbound.file(IncomingEmail(message_id="<spam@example.org>", sender="spam@example.org",
                                   raw=b"Subject: [bold]WIN[/bold]\r\n\r\nx", subject="[bold]WIN[/bold]"),
                     Verdict(InboundOutcome.refused, "no reply token and an unknown sender"))

    async def run_before(pilot) -> None:
        await _queue_ready(pilot)
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, MailScreen) and pilot.app.screen.data
                       and pilot.app.screen.query_one("#failed", DataTable).row_count == 1
                       and pilot.app.screen.query_one("#held", DataTable).row_count == 1)
        await pilot.pause()

    assert snap_compare(make_console(), terminal_size=SIZE, run_before=run_before)


def test_help_screen(desk, make_console, snap_compare):
    async def run_before(pilot) -> None:
        await _queue_ready(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))
        await pilot.pause()

    assert snap_compare(make_console(), terminal_size=SIZE, run_before=run_before)

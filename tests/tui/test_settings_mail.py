"""Pilot tests of the admin screens: continuous conversations switch, email template errors, mail needing an agent."""
from __future__ import annotations

from textual.widgets import DataTable, Input, OptionList, Static, Switch

from core.email_templates import EmailTemplateService
from core.models import OutboxJob, OutboxStatus
from core.settings import SettingsService
from core.triggers import REQUEST_EMAIL, TriggerService
from tests.tui.helpers import wait_for
from tui.screens.mail import MailScreen
from tui.screens.prompt import ConfirmScreen
from tui.screens.settings import SettingsScreen


def _settings(desk):
    with desk.db.read_session() as session:
        return SettingsService(session, desk.clock).load()


def _request_trigger(desk):
    with desk.db.read_session() as session:
        return TriggerService(session, desk.clock).by_key(REQUEST_EMAIL)


def _override(desk, language="en"):
    with desk.db.read_session() as session:
        return EmailTemplateService(session, desk.clock).get(language)


async def _open_settings(app, pilot):
    await pilot.press("f2")
    await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen) and app.screen.data is not None)


async def test_continuous_conversations_switch_changes_setting_and_trigger_together(desk, make_console):
    with desk.db.session() as session:
        SettingsService(session, desk.clock).update(support_address="help@example.com")
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await _open_settings(app, pilot)
        switch = app.screen.query_one("#continuous", Switch)
        assert switch.value is False
        switch.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: _settings(desk).continuous_conversations, what="setting on")
        assert _request_trigger(desk).active is True
        await wait_for(pilot, lambda: app.screen.data.continuous_on)
        await pilot.press("enter")
        await wait_for(pilot, lambda: not _settings(desk).continuous_conversations, what="setting off")
        assert _request_trigger(desk).active is False


async def test_continuous_conversations_refused_without_support_address_names_it(desk, make_console):
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await _open_settings(app, pilot)
        app.screen.query_one("#continuous", Switch).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("support address" in n.message for n in app._notifications))
        await wait_for(pilot, lambda: app.screen.query_one("#continuous", Switch).value is False)
        assert _settings(desk).continuous_conversations is False
        trigger = _request_trigger(desk)
        assert trigger is None or trigger.active is False


async def test_template_with_an_error_is_rejected_and_the_old_text_kept(desk, make_console):
    from mail.overrides import save_override

    with desk.db.session() as session:
        save_override(session, desk.clock, "en", subject="Old subject {{ brand_name }}")
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await _open_settings(app, pilot)
        subject = app.screen.query_one("#template-subject", Input)
        assert subject.value == "Old subject {{ brand_name }}"
        subject.value = "New {{ brand_name "
        await pilot.press("ctrl+t")
        error = app.screen.query_one("#template-error", Static)
        await wait_for(pilot, lambda: "subject" in str(error.render()), what="template error shown")
        assert _override(desk).subject == "Old subject {{ brand_name }}"
        # A valid one is saved and previewed through the real composer.
        subject.value = "News from {{ brand_name }}"
        await wait_for(pilot, lambda: "News from Support" in str(app.screen.query_one("#template-preview").render()),
                       what="preview")
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: _override(desk).subject == "News from {{ brand_name }}")


async def test_settings_save_and_invalid_value_changes_nothing(desk, make_console):
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await _open_settings(app, pilot)
        app.screen.query_one("#field-inactivity", Input).value = "0"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: any("inactivity period" in n.message for n in app._notifications))
        assert _settings(desk).inactivity_minutes == 5
        app.screen.query_one("#field-inactivity", Input).value = "12"
        app.screen.query_one("#field-brand_name", Input).value = "Acme"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: _settings(desk).inactivity_minutes == 12)
        assert _settings(desk).brand_name == "Acme"


async def test_the_inactivity_field_shows_the_effective_period_and_edits_the_override(desk, make_console):
    """The demo sets inactivity_seconds (30 s); the field shows it, and saving minutes replaces it."""
    with desk.db.session() as session:
        SettingsService(session, desk.clock).update(inactivity_seconds=30)
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await _open_settings(app, pilot)
        field = app.screen.query_one("#field-inactivity", Input)
        assert field.value == "30 s"
        field.value = "1 min"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: _settings(desk).inactivity_seconds == 0, what="override cleared")
        assert _settings(desk).inactivity_minutes == 1
        await wait_for(pilot, lambda: app.screen.query_one("#field-inactivity", Input).value == "1 min")
        app.screen.query_one("#field-inactivity", Input).value = "45 s"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: _settings(desk).inactivity_seconds == 45, what="override set")


async def test_an_email_template_is_reset_to_the_shipped_text_after_a_question(desk, make_console):
    from mail.overrides import save_override

    with desk.db.session() as session:
        save_override(session, desk.clock, "en", subject="Old subject {{ brand_name }}")
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await _open_settings(app, pilot)
        assert app.screen.query_one("#template-subject", Input).value == "Old subject {{ brand_name }}"
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape")  # no: nothing changes
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
        assert _override(desk) is not None
        await pilot.press("ctrl+r", "y")
        await wait_for(pilot, lambda: _override(desk) is None or not _override(desk).subject, what="reset")
        await wait_for(pilot, lambda: app.screen.query_one("#template-subject", Input).value == "")


async def test_trigger_toggle_and_text(desk, make_console):
    with desk.db.session() as session:
        TriggerService(session, desk.clock).ensure_builtins()
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await _open_settings(app, pilot)
        table = app.screen.query_one("#triggers", DataTable)
        await wait_for(pilot, lambda: table.row_count >= 1)
        table.focus()
        first = app.screen._selected_trigger()
        await pilot.press("ctrl+a")
        await wait_for(pilot, lambda: _trigger(desk, first.id).active is not first.active)
        await pilot.press("ctrl+e")
        await wait_for(pilot, lambda: app.screen.query("#language-list"))
        languages = app.screen.query_one("#language-list", OptionList)
        assert "German (de)" in [str(languages.get_option_at_index(i).prompt) for i in range(languages.option_count)]
        languages.highlighted = next(i for i in range(languages.option_count)
                                     if languages.get_option_at_index(i).id == "de")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.query(Input) and app.screen.query_one(Input).value != "de")
        app.screen.query_one(Input).value = "Wir sind gleich da."
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Wir sind gleich da." in str(_trigger(desk, first.id).texts.get("de")))


def _trigger(desk, trigger_id):
    with desk.db.read_session() as session:
        return TriggerService(session, desk.clock).get(trigger_id)


async def test_non_admin_cannot_open_settings(desk, make_console):
    app = make_console("kim")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("f2")
        await wait_for(pilot, lambda: any("Only admins" in n.message for n in app._notifications))
        assert not isinstance(app.screen, SettingsScreen)


async def test_failed_notification_is_retried_from_the_mail_screen(desk, make_console):
    with desk.db.session() as session:
        job = OutboxJob(conversation_id=desk.conversations["chen"], idempotency_key="test-1", first_seq=2, last_seq=2,
                        to_address="chen@example.com", message_id="<t1@example.com>", status=OutboxStatus.failed,
                        next_attempt_at=desk.clock.now(), created_at=desk.clock.now(),
                        last_error="550 [bold]mailbox unavailable[/]")
        session.add(job)
        session.commit()
        job_id = job.id
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, MailScreen) and app.screen.data is not None)
        table = app.screen.query_one("#failed", DataTable)
        assert table.row_count == 1
        assert "550 [bold]mailbox unavailable[/]" in str(table.get_row_at(0)[2])
        table.focus()
        await pilot.press("t")
        await wait_for(pilot, lambda: _job(desk, job_id).status is OutboxStatus.pending)
        await wait_for(pilot, lambda: app.screen.query_one("#failed", DataTable).row_count == 0)


def _job(desk, job_id):
    with desk.db.read_session() as session:
        return session.get(OutboxJob, job_id)


async def test_accept_a_held_email(desk, make_console):
    from core.inbound import HeldStatus, InboundOutcome, InboundService, IncomingEmail, Verdict

    alex = desk.conversations["alex"]
    with desk.db.session() as session:
        record = InboundService(session, desk.clock).file(
            IncomingEmail(message_id="<held-1@example.net>", sender="boss@example.net", sender_name="[b]Boss[/b]",
                          raw=b"From: boss@example.net\r\nSubject: Re: order\r\n\r\nPlease hurry.\x1b[2J\r\n",
                          subject="Re: order", text="Please hurry."),
            Verdict(InboundOutcome.held, "valid reply token, other sender", alex))
        held_id = record.id
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, MailScreen) and app.screen.data is not None)
        table = app.screen.query_one("#held", DataTable)
        assert table.row_count == 1
        assert str(table.get_row_at(0)[1]) == "[b]Boss[/b] <boss@example.net>"
        table.focus()
        await pilot.press("enter")  # the source, shown literally
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "TextScreen")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MailScreen))
        await pilot.press("a")
        await wait_for(pilot, lambda: _inbound(desk, held_id).held_status is HeldStatus.accepted)
        await wait_for(pilot, lambda: app.screen.query_one("#held", DataTable).row_count == 0)
    with desk.db.read_session() as session:
        from core.conversations import ConversationService

        last = ConversationService(session, desk.clock).transcript(alex)[-1]
    assert last.body == "Please hurry." and last.channel.value == "email"


def _inbound(desk, inbound_id):
    from core.inbound import InboundEmail

    with desk.db.read_session() as session:
        return session.get(InboundEmail, inbound_id)

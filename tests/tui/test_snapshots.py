"""Snapshots of every screen and dialog at 80x24 and 120x36, in English and in German (whose labels run longest),
on fixed data and a fixed clock (baselines in tests/tui/__snapshots__). Review: every text fits or wraps."""
from __future__ import annotations

import pytest
from textual.widgets import DataTable, TextArea

from core.activity import ActivityService
from core.agents import AgentService
from core.collaboration import CollaborationService
from core.macros import MacroDraft, MacroService
from core.models import OutboxJob, OutboxStatus
from core.settings import SettingsService
from core.triggers import TriggerService
from tests.tui.helpers import rows_loaded, wait_for
from tui.i18n import set_language
from tui.screens.business_hours import BusinessHoursScreen
from tui.screens.conversation import ConversationScreen
from tui.screens.erase import EraseScreen
from tui.screens.help import HelpScreen
from tui.screens.macros import MacroPicker
from tui.screens.mail import MailScreen
from tui.screens.pick_conversation import ConversationPicker
from tui.screens.prompt import ConfirmScreen, LanguageScreen, PromptScreen, TextScreen
from tui.screens.reports import ReportsScreen
from tui.screens.settings import SettingsScreen
from tui.widgets.activity_line import ActivityLine

SIZES = {"80x24": (80, 24), "120x36": (120, 36)}


@pytest.fixture(params=["en", "de"])
def language(request, desk):
    """The agent's language: Sam (English) or Jonas (German); the console's translator is reset afterwards."""
    if request.param == "de":
        with desk.db.session() as session:
            AgentService(session, desk.clock).add("jonas", "Jonas Agent", is_admin=True, language="de")
    yield request.param
    set_language("en")


@pytest.fixture(params=list(SIZES))
def size(request):
    return SIZES[request.param]


@pytest.fixture
def console(make_console, language):
    return make_console("jonas" if language == "de" else "sam")


async def _settle(pilot) -> None:
    """A still cursor in every text field, so the picture does not depend on the blink's phase."""
    for field in pilot.app.screen.query("Input, TextArea"):
        field.cursor_blink = False
        if isinstance(field, TextArea):
            # TextArea caches rendered lines under a key that cannot tell "cursor hidden by the blink" from "blink
            # off", so a line drawn in the blink's dark phase (a slow or busy machine reaches it, 0.5 s after the
            # focus) would keep showing no cursor: forget those lines (what a style change does) and draw again.
            field.notify_style_update()
    await pilot.pause()


async def _queue_ready(pilot) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: rows_loaded(app) and bool(app._notifications))
    app.clear_notifications()
    await pilot.pause()


async def _conversation(pilot, conversation_id: int) -> None:
    await _queue_ready(pilot)
    pilot.app.open_conversation(conversation_id)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConversationScreen)
                   and pilot.app.screen.shown is not None and pilot.app.screen.query(".message"))
    await pilot.pause()


def _file_mail(desk) -> None:
    with desk.db.session() as session:
        session.add(OutboxJob(conversation_id=desk.conversations["chen"], idempotency_key="snap-1", first_seq=2,
                              last_seq=2, to_address="chen@example.com", message_id="<snap1@example.com>",
                              status=OutboxStatus.bounced, next_attempt_at=desk.clock.now(),
                              created_at=desk.clock.now(), sent_at=desk.clock.now(),
                              last_error="550 5.1.1 mailbox unavailable"))
        session.commit()
        from core.inbound import InboundOutcome, InboundService, IncomingEmail, Verdict

        inbound = InboundService(session, desk.clock)
        inbound.file(IncomingEmail(message_id="<held@example.net>", sender="boss@example.net", sender_name="Boss",
                                   raw=b"Subject: Re: order\r\n\r\nPlease hurry.", subject="Re: order",
                                   text="Please hurry."),
                     Verdict(InboundOutcome.held, "valid reply token, other sender", desk.conversations["alex"]))
        inbound.file(IncomingEmail(message_id="<spam@example.org>", sender="spam@example.org",
                                   raw=b"Subject: [bold]WIN[/bold]\r\n\r\nx", subject="[bold]WIN[/bold]"),
                     Verdict(InboundOutcome.refused, "no reply token and an unknown sender"))


async def _mail(pilot) -> None:
    await _queue_ready(pilot)
    await pilot.press("f3")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, MailScreen) and pilot.app.screen.data
                   and pilot.app.screen.query_one("#failed", DataTable).row_count == 1
                   and pilot.app.screen.query_one("#held", DataTable).row_count == 1)
    # DataTable sizes auto-width columns for new rows when it is next idle; a modal pushed before that would show
    # the mail screen behind it with header-wide columns on some runs, so wait until the reasons are measured.
    await wait_for(pilot, lambda: all(table.columns["reason"].content_width > len("Reason")
                                      for table in pilot.app.screen.query(DataTable) if table.row_count))
    await pilot.pause()


def test_queue_screen(desk, console, size, snap_compare):
    assert snap_compare(console, terminal_size=size, run_before=_queue_ready)


def test_quit_question(desk, console, size, snap_compare):
    async def run_before(pilot) -> None:
        await _queue_ready(pilot)
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
        await pilot.pause()

    assert snap_compare(console, terminal_size=size, run_before=run_before)


def test_conversation_screen(desk, console, size, snap_compare):
    async def run_before(pilot) -> None:
        await _conversation(pilot, desk.conversations["chen"])

    assert snap_compare(console, terminal_size=size, run_before=run_before)


def test_conversation_with_markup_shown_literally(desk, console, size, snap_compare):
    async def run_before(pilot) -> None:
        await _conversation(pilot, desk.conversations["dana"])

    assert snap_compare(console, terminal_size=size, run_before=run_before)


def test_block_question(desk, console, size, snap_compare):
    async def run_before(pilot) -> None:
        await _conversation(pilot, desk.conversations["alex"])
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
        await pilot.pause()

    assert snap_compare(console, terminal_size=size, run_before=run_before)


def test_erase_question(desk, console, size, snap_compare):
    async def run_before(pilot) -> None:
        await _conversation(pilot, desk.conversations["alex"])
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, EraseScreen))
        await pilot.press(*"Alex")  # half the name: the Erase button stays disabled
        await _settle(pilot)

    assert snap_compare(console, terminal_size=size, run_before=run_before)


def test_email_address_prompt(desk, console, size, snap_compare):
    async def run_before(pilot) -> None:
        await _conversation(pilot, desk.conversations["alex"])
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, PromptScreen))
        await _settle(pilot)

    assert snap_compare(console, terminal_size=size, run_before=run_before)


def test_language_picker(desk, console, size, snap_compare):
    async def run_before(pilot) -> None:
        await _conversation(pilot, desk.conversations["bea"])
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, LanguageScreen))
        await _settle(pilot)

    assert snap_compare(console, terminal_size=size, run_before=run_before)


def test_settings_screen(desk, console, size, snap_compare):
    with desk.db.session() as session:
        SettingsService(session, desk.clock).update(support_address="help@example.com", brand_name="Acme")
        TriggerService(session, desk.clock).ensure_builtins()

    async def run_before(pilot) -> None:
        await _queue_ready(pilot)
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SettingsScreen) and pilot.app.screen.data
                       and pilot.app.screen.query_one("#triggers", DataTable).row_count == 2)
        await wait_for(pilot, lambda: str(pilot.app.screen.query_one("#template-preview").render()).strip() != "")
        await pilot.pause()

    assert snap_compare(console, terminal_size=size, run_before=run_before)


def test_business_hours_editor(desk, console, size, snap_compare):
    with desk.db.session() as session:
        workdays = ("mon", "tue", "wed", "thu", "fri")
        SettingsService(session, desk.clock).update(business_hours={
            "timezone": "Europe/Berlin", "days": {day: [["09:00", "17:00"]] for day in workdays}})

    async def run_before(pilot) -> None:
        await _queue_ready(pilot)
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SettingsScreen) and pilot.app.screen.data)
        await pilot.press("ctrl+b")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, BusinessHoursScreen))
        await _settle(pilot)

    assert snap_compare(console, terminal_size=size, run_before=run_before)


def test_mail_screen(desk, console, size, snap_compare):
    _file_mail(desk)
    assert snap_compare(console, terminal_size=size, run_before=_mail)


def test_email_source(desk, console, size, snap_compare):
    _file_mail(desk)

    async def run_before(pilot) -> None:
        await _mail(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, TextScreen))
        await pilot.pause()

    assert snap_compare(console, terminal_size=size, run_before=run_before)


def test_conversation_picker(desk, console, size, snap_compare):
    _file_mail(desk)

    async def run_before(pilot) -> None:
        await _mail(pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConversationPicker)
                       and pilot.app.screen.candidates is not None)
        await _settle(pilot)

    assert snap_compare(console, terminal_size=size, run_before=run_before)


def test_help_screen(desk, console, size, snap_compare):
    async def run_before(pilot) -> None:
        await _queue_ready(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))
        await pilot.pause()

    assert snap_compare(console, terminal_size=size, run_before=run_before)


def test_conversation_with_a_note(desk, console, size, snap_compare):
    with desk.db.session() as session:
        CollaborationService(session, desk.clock).add_note(
            desk.conversations["chen"], desk.other_agent_id, "Chen is on the yearly plan: offer the upgrade discount.")

    async def run_before(pilot) -> None:
        await _conversation(pilot, desk.conversations["chen"])

    assert snap_compare(console, terminal_size=size, run_before=run_before)


def test_macro_picker(desk, console, size, snap_compare):
    with desk.db.session() as session:
        macros = MacroService(session, desk.clock)
        macros.save(MacroDraft("Password reset", {"en": "Hi {{ end_user_name }}, use 'Forgot password' on the login "
                                                        "page.", "de": "Hallo {{ end_user_name }}, nutze 'Passwort "
                                                                       "vergessen'."},
                               set_status="pending", add_tags=("login",)))
        macros.save(MacroDraft("Refund issued", {"en": "Your refund is on its way. {{ agent_name }}"},
                               assign_to_me=True))
        macros.save(MacroDraft("Shipping times", {"en": "Orders ship within two working days."}))

    async def run_before(pilot) -> None:
        await _conversation(pilot, desk.conversations["bea"])
        await pilot.press("r", "colon")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, MacroPicker))
        await pilot.press(*"re")
        await _settle(pilot)

    assert snap_compare(console, terminal_size=size, run_before=run_before)


def test_reports_screen(desk, console, size, snap_compare):
    async def run_before(pilot) -> None:
        await _queue_ready(pilot)
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ReportsScreen) and pilot.app.screen.report
                       is not None and pilot.app.screen.query_one("#started-sparkline").data)
        await pilot.pause()

    assert snap_compare(console, terminal_size=size, run_before=run_before)


def _activity(desk) -> None:
    """Bea types (the account shows previews), Dana replies, Kim has the conversation open."""
    with desk.db.session() as session:
        SettingsService(session, desk.clock).update(typing_preview=True)
        dana = AgentService(session, desk.clock).add("dana", "Dana")
        activity = ActivityService(session, desk.clock)
        activity.end_user_typing(desk.conversations["bea"], "Ich habe das Passwort schon zweimal zurückgesetzt")
        activity.agent_active(desk.conversations["bea"], dana.id, typing=True)
        activity.agent_active(desk.conversations["bea"], desk.other_agent_id, typing=False)


def test_conversation_with_typing_indicator(desk, console, size, snap_compare):
    _activity(desk)

    async def run_before(pilot) -> None:
        await _conversation(pilot, desk.conversations["bea"])
        await wait_for(pilot, lambda: pilot.app.screen.query_one(ActivityLine).display)
        await _settle(pilot)

    assert snap_compare(console, terminal_size=size, run_before=run_before)


def test_articles_screen(desk, console, size, snap_compare):
    from core.articles import ArticleService
    from tui.screens.articles import ArticlesScreen

    with desk.db.session() as session:
        service = ArticleService(session, desk.clock)
        service.create("Reset your password", "Open **Settings** and choose *Reset password*.\n\n"
                       "- We email you a link\n- It works for one hour", "en", published=True)
        service.create("Rechnungsadresse ändern", "Die Rechnungsadresse steht im Konto.", "de")

    async def run_before(pilot) -> None:
        await _queue_ready(pilot)
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ArticlesScreen)
                       and pilot.app.screen.query_one("#articles", DataTable).row_count == 2)
        await pilot.press("down", "enter")  # the English article (sorted by language: de, en)
        await wait_for(pilot, lambda: "Settings" in pilot.app.screen.query_one("#article-preview").source)
        await _settle(pilot)
        await pilot.pause(0.2)

    assert snap_compare(console, terminal_size=size, run_before=run_before)


def test_image_preview(desk, console, size, snap_compare):
    import io

    from PIL import Image as PillowImage

    from core.attachments import AttachmentService
    from core.models import AuthorKind
    from tui.screens.image_preview import ImagePreviewScreen

    buffer = io.BytesIO()
    picture = PillowImage.new("RGB", (64, 32), (20, 90, 200))
    picture.paste((230, 200, 40), (0, 0, 32, 16))  # a yellow quarter: the picture is drawn, not a flat box
    picture.save(buffer, "PNG")
    with desk.db.session() as session:
        files = AttachmentService(session, desk.clock)
        files.post_file(desk.conversations["alex"], AuthorKind.end_user, files.check("screenshot.png",
                                                                                     buffer.getvalue()))

    async def run_before(pilot) -> None:
        await _conversation(pilot, desk.conversations["alex"])
        await pilot.press("f")
        await wait_for(pilot, lambda: not isinstance(pilot.app.screen, ConversationScreen))
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ImagePreviewScreen))
        await _settle(pilot)
        await pilot.pause(0.2)

    assert snap_compare(console, terminal_size=size, run_before=run_before)

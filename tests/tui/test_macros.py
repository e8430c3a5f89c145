"""Pilot tests of canned replies in the reply box: ':' and Ctrl+K open the picker, the text comes in the
conversation's language, and sending applies the macro's actions."""
from __future__ import annotations

from textual.widgets import OptionList, TextArea

from core.conversations import ConversationService
from core.macros import MacroDraft, MacroService
from core.models import ConversationStatus, Message
from tests.tui.helpers import rows_loaded, wait_for
from tui.screens.conversation import ConversationScreen
from tui.screens.macros import MacroPicker


def _macros(desk) -> None:
    with desk.db.session() as session:
        service = MacroService(session, desk.clock)
        service.save(MacroDraft("Password reset", {"en": "Hi {{ end_user_name }}, use 'Forgot password'.",
                                                   "de": "Hallo {{ end_user_name }}, nutze 'Passwort vergessen'."},
                                set_status="pending", add_tags=("login",)))
        service.save(MacroDraft("Refund issued", {"en": "Your refund is on its way. {{ agent_name }}"}))


def _conversation(desk, key):
    with desk.db.read_session() as session:
        return ConversationService(session, desk.clock).get(desk.conversations[key])


async def _open(pilot, app, conversation_id: int) -> None:
    await wait_for(pilot, lambda: rows_loaded(app), what="queue rows")
    app.open_conversation(conversation_id)
    await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen) and app.screen.shown is not None)


async def test_colon_in_an_empty_reply_picks_a_macro_in_the_conversations_language(desk, make_console):
    _macros(desk)
    app = make_console()
    bea = desk.conversations["bea"]  # Bea writes German
    async with app.run_test(size=(120, 36)) as pilot:
        await _open(pilot, app, bea)
        await pilot.press("r", "colon")
        await wait_for(pilot, lambda: isinstance(app.screen, MacroPicker), what="picker")
        await pilot.press(*"pasrst")  # fuzzy: the letters in order
        options = app.screen.query_one(OptionList)
        assert options.option_count == 1 and "Password reset" in str(options.get_option_at_index(0).prompt)
        await pilot.press("enter")
        reply = lambda: app.screen.query_one("#reply", TextArea).text  # noqa: E731
        await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen) and reply() != "", what="inserted")
        assert reply() == "Hallo Bea Schmidt, nutze 'Passwort vergessen'."
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: _conversation(desk, "bea").status is ConversationStatus.pending,
                       what="macro actions applied")
    after = _conversation(desk, "bea")
    assert after.tags == ["login"] and after.assignee_id == desk.agent_id
    with desk.db.read_session() as session:
        last = session.exec(Message.__table__.select().where(Message.conversation_id == bea,
                                                              Message.seq == after.last_seq)).one()
    assert last.body == "Hallo Bea Schmidt, nutze 'Passwort vergessen'."


async def test_ctrl_k_inserts_at_the_cursor_and_a_macro_without_actions_changes_only_the_text(desk, make_console):
    _macros(desk)
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await _open(pilot, app, desk.conversations["alex"])
        await pilot.press("r", *"Hello! ")
        await pilot.press("colon")  # not empty: a plain colon
        await pilot.press("ctrl+k")
        await wait_for(pilot, lambda: isinstance(app.screen, MacroPicker), what="picker")
        await pilot.press(*"refund", "enter")
        reply = lambda: app.screen.query_one("#reply", TextArea).text  # noqa: E731
        await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen) and "refund" in reply())
        assert reply() == "Hello! :Your refund is on its way. Sam Agent"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: _conversation(desk, "alex").last_seq == 2, what="sent")
    after = _conversation(desk, "alex")
    assert after.tags == [] and after.status is ConversationStatus.open


async def test_escape_closes_the_picker_and_without_macros_the_agent_is_told(desk, make_console):
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await _open(pilot, app, desk.conversations["alex"])
        await pilot.press("r", "colon")
        await wait_for(pilot, lambda: any("no canned replies" in str(n.message) for n in app._notifications),
                       what="told there are none")
        assert isinstance(app.screen, ConversationScreen)
        assert app.screen.query_one("#reply", TextArea).text == ""
        _macros(desk)
        await pilot.press("colon")
        await wait_for(pilot, lambda: isinstance(app.screen, MacroPicker), what="picker")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen), what="picker closed")
        assert app.screen.query_one("#reply", TextArea).text == "" and app.screen.pending_macro is None

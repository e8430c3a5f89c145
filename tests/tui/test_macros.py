"""Pilot tests of canned replies in the reply box: ':' and Ctrl+K open the picker, the text comes in the
conversation's language, and sending applies the macro's actions."""
from __future__ import annotations

from textual.widgets import Input, OptionList, Select, TextArea

from core.macros import MacroDraft, MacroService
from core.models import ConversationStatus, Message
from tests.tui.helpers import conversation, open_conversation, rows_loaded, wait_for
from tui.screens.conversation import ConversationScreen
from tui.screens.macro_settings import MacroEditor, MacrosScreen
from tui.screens.macros import MacroPicker
from tui.screens.prompt import ConfirmScreen


def _macros(desk) -> None:
    with desk.db.session() as session:
        service = MacroService(session, desk.clock)
        service.save(MacroDraft("Password reset", {"en": "Hi {{ end_user_name }}, use 'Forgot password'.",
                                                   "de": "Hallo {{ end_user_name }}, nutze 'Passwort vergessen'."},
                                set_status="pending", add_tags=("login",)))
        service.save(MacroDraft("Refund issued", {"en": "Your refund is on its way. {{ agent_name }}"}))






async def test_colon_in_an_empty_reply_picks_a_macro_in_the_conversations_language(desk, make_console):
    _macros(desk)
    app = make_console()
    bea = desk.conversations["bea"]  # Bea writes German
    async with app.run_test(size=(120, 36)) as pilot:
        await open_conversation(pilot, app, bea)
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
        await wait_for(pilot, lambda: conversation(desk, "bea").status is ConversationStatus.pending,
                       what="macro actions applied")
    after = conversation(desk, "bea")
    assert after.tags == ["login"] and after.assignee_id == desk.agent_id
    with desk.db.read_session() as session:
        last = session.exec(Message.__table__.select().where(Message.conversation_id == bea,
                                                              Message.seq == after.last_seq)).one()
    assert last.body == "Hallo Bea Schmidt, nutze 'Passwort vergessen'."


async def test_ctrl_k_inserts_at_the_cursor_and_a_macro_without_actions_changes_only_the_text(desk, make_console):
    _macros(desk)
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await open_conversation(pilot, app, desk.conversations["alex"])
        await pilot.press("r", *"Hello! ")
        await pilot.press("colon")  # not empty: a plain colon
        await pilot.press("ctrl+k")
        await wait_for(pilot, lambda: isinstance(app.screen, MacroPicker), what="picker")
        await pilot.press(*"refund", "enter")
        reply = lambda: app.screen.query_one("#reply", TextArea).text  # noqa: E731
        await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen) and "refund" in reply())
        assert reply() == "Hello! :Your refund is on its way. Sam Agent"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: conversation(desk, "alex").last_seq == 2, what="sent")
    after = conversation(desk, "alex")
    assert after.tags == [] and after.status is ConversationStatus.open


async def test_escape_closes_the_picker_and_without_macros_the_agent_is_told(desk, make_console):
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await open_conversation(pilot, app, desk.conversations["alex"])
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


async def test_an_admin_adds_edits_and_deletes_a_canned_reply_in_settings(desk, make_console):
    app = make_console()

    def saved():
        with desk.db.read_session() as session:
            return {m.name: (m.texts, m.set_status, m.add_tags) for m in MacroService(session, desk.clock).all()}

    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: rows_loaded(app), what="queue rows")
        await pilot.press("f2")
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: isinstance(app.screen, MacrosScreen) and app.screen.rows is not None)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, MacroEditor))
        await pilot.press(*"Shipping")
        app.screen.query_one("#macro-text", TextArea).text = "It ships {{ wrong }}"
        app.screen.query_one("#macro-tags", Input).value = "shipping"
        await pilot.press("ctrl+s")  # refused in the dialog: unknown variable
        await wait_for(pilot, lambda: "wrong" in str(app.screen.query_one("#macro-error").render()))
        app.screen.query_one("#macro-text", TextArea).text = "It ships today, {{ end_user_name }}."
        app.screen.query_one("#macro-language", Select).value = "de"
        await pilot.pause()
        app.screen.query_one("#macro-text", TextArea).text = "Es geht heute raus."
        app.screen.query_one("#macro-status", Select).value = "pending"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "Shipping" in saved(), what="saved")
        assert saved()["Shipping"] == ({"en": "It ships today, {{ end_user_name }}.", "de": "Es geht heute raus."},
                                       "pending", ["shipping"])
        await wait_for(pilot, lambda: isinstance(app.screen, MacrosScreen) and bool(app.screen.rows))

        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MacroEditor))
        assert app.screen.query_one("#macro-text", TextArea).text in ("Es geht heute raus.",
                                                                       "It ships today, {{ end_user_name }}.")
        app.screen.query_one("#macro-name", Input).value = "Shipped"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: list(saved()) == ["Shipped"], what="renamed")

        await wait_for(pilot, lambda: isinstance(app.screen, MacrosScreen) and app.screen.rows
                       and app.screen.rows[0].name == "Shipped")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: saved() == {}, what="deleted")

"""Everyday use of the console: failures told once and never leaving a screen busy, keys that apply, questions
before the changes that are hard to take back (quitting, solving, replacing an address, discarding mail)."""
from __future__ import annotations

from textual.widgets import Input

from core.conversations import ConversationService
from core.end_users import EndUserService
from tests.tui.helpers import open_conversation, rows_loaded, screen_text, wait_for
from tui.commands import palette_entries
from tui.screens.conversation import ConversationScreen
from tui.screens.prompt import ConfirmScreen, PromptScreen
from tui.screens.queue import QueueScreen
from tui.widgets.key_bar import KeyBar


async def test_a_failed_conversation_load_is_a_toast_and_live_updates_go_on(desk, make_console, monkeypatch):
    import tui.screens.conversation as conversation_module

    real = conversation_module.read_conversation
    failing = {"on": True}

    def read_or_fail(session, clock, conversation_id, *args, **kwargs):
        if failing["on"]:
            raise RuntimeError("disk on fire")
        return real(session, clock, conversation_id, *args, **kwargs)

    monkeypatch.setattr(conversation_module, "read_conversation", read_or_fail)
    app = make_console()
    bea = desk.conversations["bea"]
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: rows_loaded(app))
        app.open_conversation(bea)
        await wait_for(pilot, lambda: any(n.severity == "error" and "RuntimeError" in n.message
                                          and "disk on fire" in n.message for n in app._notifications),
                       what="error toast")
        screen = app.screen
        assert isinstance(screen, ConversationScreen) and screen.shown is None
        await wait_for(pilot, lambda: not screen.busy, what="not busy after the failure")
        failing["on"] = False
        with desk.db.session() as session:  # another process's change reaches the console by the event log
            ConversationService(session, desk.clock).post_end_user_message(bea, "Still there?", channel="messaging")
        await wait_for(pilot, lambda: screen.shown is not None and screen.shown.messages[-1].body == "Still there?",
                       what="live update after the failure")


def _keys(app) -> str:
    return str(app.screen.query_one(KeyBar).render())


async def test_the_keys_shown_are_the_ones_that_apply(desk, make_console):
    app = make_console()
    eli = desk.conversations["eli"]  # solved
    async with app.run_test(size=(160, 36)) as pilot:
        screen = await open_conversation(pilot, app, desk.conversations["alex"])
        await wait_for(pilot, lambda: "Assign to me" in _keys(app) and "Solve" in _keys(app)
                       and "Reopen" not in _keys(app), what="keys of a waiting conversation")
        await pilot.press("a")
        await wait_for(pilot, lambda: screen.shown.conversation.assignee_id == desk.agent_id, what="assigned")
        await wait_for(pilot, lambda: "Assign to me" not in _keys(app), what="assign hidden")
        titles = {title for title, _key, _run in palette_entries(app.screen, app)}
        assert "Assign to me" not in titles and "Release" in titles
        app.open_conversation(eli)
        await wait_for(pilot, lambda: screen.shown is not None and screen.shown.conversation.id == eli)
        await wait_for(pilot, lambda: "Reopen" in _keys(app) and "Solve" not in _keys(app), what="solved keys")


async def test_solving_asks_first(desk, make_console):
    app = make_console()
    alex = desk.conversations["alex"]

    def status():
        with desk.db.read_session() as session:
            return ConversationService(session, desk.clock).get(alex).status.value

    async with app.run_test(size=(120, 36)) as pilot:
        await open_conversation(pilot, app, alex)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen))
        assert status() != "solved"
        await pilot.press("s", "y")
        await wait_for(pilot, lambda: status() == "solved")


async def test_replacing_an_email_address_asks_first(desk, make_console):
    app = make_console()

    def email():
        with desk.db.read_session() as session:
            return EndUserService(session, desk.clock).get(desk.end_users["alex"]).email

    async with app.run_test(size=(120, 36)) as pilot:
        await open_conversation(pilot, app, desk.conversations["alex"])
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        app.screen.query_one(Input).value = "alex@other.example"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "alex@example.com" in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen))
        assert email() == "alex@example.com"
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        app.screen.query_one(Input).value = "alex@other.example"
        await pilot.press("enter", "y")
        await wait_for(pilot, lambda: email() == "alex@other.example")


async def test_q_on_the_queue_asks_before_quitting_and_escape_goes_back(desk, make_console):
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: rows_loaded(app))
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Quit Threadline?" in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, QueueScreen))
        assert app.is_running
        await pilot.press("f3")
        await wait_for(pilot, lambda: not isinstance(app.screen, QueueScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, QueueScreen), what="escape is back")
        await pilot.press("q", "y")
        await wait_for(pilot, lambda: not app.is_running, what="quit")


async def test_the_demo_says_its_data_will_be_removed(desk, make_console):
    app = make_console(demo=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: rows_loaded(app))
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "removed" in screen_text(app)

"""Pilot tests of notes (N), transfers (t) and tags (#) in the console, on a real database."""
from __future__ import annotations

from sqlmodel import select
from textual.widgets import OptionList

from core.collaboration import CollaborationService
from core.events import EventLog
from core.models import ConversationNote, Message
from tests.tui.helpers import conversation, open_conversation, rows_loaded, screen_text, wait_for
from tui.screens.collaboration import tag_changes
from tui.screens.conversation import ConversationScreen
from tui.screens.notes import NoteScreen
from tui.screens.prompt import PromptScreen
from tui.screens.transfer import TransferScreen
from tui.widgets.note_view import NoteBox


async def test_a_note_is_saved_apart_from_messages_and_shown_as_a_note(desk, make_console):
    app = make_console()
    chen = desk.conversations["chen"]
    before = conversation(desk, "chen")
    async with app.run_test(size=(120, 36)) as pilot:
        await open_conversation(pilot, app, chen)
        await pilot.press("N")
        await wait_for(pilot, lambda: isinstance(app.screen, NoteScreen))
        await pilot.press(*"VIP [bold]customer[/]")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen) and app.screen.query(NoteBox),
                       what="note shown")
        text = screen_text(app)
        assert "Note Sam Agent · only agents see this" in text and "VIP [bold]customer[/]" in text
        # The note stands after the last message it followed.
        boxes = list(app.screen.query("#transcript > *"))
        assert isinstance(boxes[-1], NoteBox)
    after = conversation(desk, "chen")
    assert (after.last_seq, after.end_user_read_seq) == (before.last_seq, before.end_user_read_seq)
    with desk.db.read_session() as session:
        [note] = session.exec(select(ConversationNote)).all()
        assert note.body == "VIP [bold]customer[/]" and note.after_seq == before.last_seq
        assert not session.exec(select(Message).where(Message.body == note.body)).all()


async def test_transfer_to_another_agent_with_a_note_tells_them(desk, make_console):
    sam_console = make_console()
    bea = desk.conversations["bea"]
    async with sam_console.run_test(size=(120, 36)) as pilot:
        await open_conversation(pilot, sam_console, bea)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(sam_console.screen, TransferScreen))
        options = sam_console.screen.query_one("#transfer-agents", OptionList)
        # Everyone but the agent transferring, with their status.
        assert options.option_count == 1 and "Kim Agent (kim) · offline" in str(options.get_option_at_index(0).prompt)
        await pilot.click("#transfer-note")
        await pilot.press(*"Needs German")
        await pilot.press("enter")  # Kim is the only other agent and highlighted
        await wait_for(pilot, lambda: conversation(desk, "bea").assignee_id == desk.other_agent_id,
                       what="transferred")
    with desk.db.read_session() as session:
        [note] = session.exec(select(ConversationNote).where(ConversationNote.conversation_id == bea)).all()
        assert note.body == "Needs German" and note.author_agent_id == desk.agent_id


async def test_tags_are_added_and_removed_from_the_conversation(desk, make_console):
    app = make_console()
    alex = desk.conversations["alex"]
    async with app.run_test(size=(120, 36)) as pilot:
        await open_conversation(pilot, app, alex)
        await pilot.press("#")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press(*"vip shipping")
        await pilot.press("enter")
        await wait_for(pilot, lambda: conversation(desk, "alex").tags == ["vip", "shipping"], what="tagged")
        await wait_for(pilot, lambda: "#vip #shipping" in screen_text(app), what="tags in the header")
        await pilot.press("#")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press(*"-vip")
        await pilot.press("enter")
        await wait_for(pilot, lambda: conversation(desk, "alex").tags == ["shipping"], what="untagged")


def test_tag_changes_reads_words_and_removals():
    assert tag_changes("vip, #billing -old -#spam + -") == (["vip", "billing"], ["old", "spam"])


async def test_the_receiving_agent_is_told_and_the_sender_is_not(desk, make_console):
    kim_console = make_console("kim")
    sam_console = make_console("sam")
    async with kim_console.run_test(size=(120, 36)) as kim, sam_console.run_test(size=(120, 36)) as sam:
        for pilot, app in ((kim, kim_console), (sam, sam_console)):
            await wait_for(pilot, lambda app=app: rows_loaded(app), what="queue rows")
            app.clear_notifications()
        with desk.db.session() as session:
            CollaborationService(session, desk.clock).transfer(desk.conversations["dana"], desk.agent_id,
                                                               desk.other_agent_id, "over to you")
            last_event = EventLog(session).latest_id()

        def told(app) -> list[str]:
            return [str(n.message) for n in app._notifications if "transferred the conversation" in str(n.message)]

        await wait_for(kim, lambda: bool(told(kim_console)), what="Kim told")
        [text] = told(kim_console)
        # The end user's name is shown literally (it holds markup).
        assert text == "Sam Agent transferred the conversation with Dana [bold red]Evil[/] to you."
        # Sam's console has read past the transfer, and said nothing about it.
        await wait_for(sam, lambda: sam_console.cursor >= last_event, what="Sam's console caught up")
        await sam.pause()
        assert told(sam_console) == []


async def test_another_agents_note_appears_live(desk, make_console):
    kim_console = make_console("kim")
    chen = desk.conversations["chen"]
    async with kim_console.run_test(size=(120, 36)) as pilot:
        await open_conversation(pilot, kim_console, chen)
        assert not kim_console.screen.query(NoteBox)
        with desk.db.session() as session:  # Sam, in another console
            CollaborationService(session, desk.clock).add_note(chen, desk.agent_id, "Offer the discount")
        await wait_for(pilot, lambda: bool(kim_console.screen.query(NoteBox)), what="note shown live")
        assert "Offer the discount" in screen_text(kim_console)

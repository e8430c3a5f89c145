"""Pilot tests of the agent's flows on a real database: pick, reply, solve, reopen by email, live updates."""
from __future__ import annotations

import threading

from textual.widgets import DataTable, TextArea

from core.conversations import ConversationService
from core.db import Database
from core.models import AuthorKind, Channel, ConversationStatus, Message
from tests.tui.helpers import conversation, rows_loaded, screen_text, wait_for
from tui.screens.conversation import ConversationScreen
from tui.screens.queue import QueueScreen


def _end_user_unread(desk, key) -> int:
    with desk.db.read_session() as session:
        service = ConversationService(session, desk.clock)
        return service.unread_count(service.get(desk.conversations[key]), AuthorKind.end_user)


async def test_queue_lists_waiting_conversations_oldest_first(desk, make_console):
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: rows_loaded(app), what="queue rows")
        table = app.screen.query_one("#queue", DataTable)
        keys = [int(key.value) for key in table.rows]
        # Alex waits longest, then Bea, then Dana; Chen was answered by an agent; Eli is solved.
        expected = [desk.conversations[k] for k in ("alex", "bea", "dana", "chen")]
        assert keys == expected
        assert str(table.get_row_at(1)[4]) == "2"  # Bea's two unread messages


async def test_pick_reply_solve_then_email_reply_reopens_live(desk, make_console):
    app = make_console()
    alex = desk.conversations["alex"]
    unread_before = _end_user_unread(desk, "alex")
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: rows_loaded(app), what="queue rows")
        await pilot.press("enter")  # the cursor starts on the oldest waiting conversation
        await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen) and app.screen.shown is not None)
        assert app.screen.conversation_id == alex
        await wait_for(pilot, lambda: conversation(desk, "alex").agent_read_seq == 1, what="marked read")

        await pilot.press("r")
        assert isinstance(app.screen.focused, TextArea)
        await pilot.press(*"Hi Alex, it ships today.")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: conversation(desk, "alex").last_seq == 2, what="reply stored")
        with desk.db.read_session() as session:
            reply = session.exec(Message.__table__.select().where(Message.conversation_id == alex,
                                                                   Message.seq == 2)).one()
        assert reply.body == "Hi Alex, it ships today."
        assert reply.channel == Channel.messaging and reply.author_kind == AuthorKind.agent
        assert reply.email_fallback is True
        assert _end_user_unread(desk, "alex") == unread_before + 1
        await wait_for(pilot, lambda: "Hi Alex, it ships today." in screen_text(app), what="reply shown")
        assert app.screen.query_one("#reply", TextArea).text == ""

        await pilot.press("escape", "s", "y")  # leave the reply box, then solve (and say yes)
        await wait_for(pilot, lambda: conversation(desk, "alex").status is ConversationStatus.solved)
        await wait_for(pilot, lambda: "status: solved" in screen_text(app), what="solved shown")

        # The end user answers by email while the console is open; nobody presses a key.
        def email_reply() -> None:
            other = Database(desk.db.engine.url.render_as_string(hide_password=False))
            with other.session() as session:
                ConversationService(session, desk.clock).post_end_user_message(
                    alex, "Thanks! One more question.", channel="email")
            other.dispose()

        thread = threading.Thread(target=email_reply)
        thread.start()
        thread.join()
        await wait_for(pilot, lambda: "One more question" in screen_text(app), what="email reply shown")
        text = screen_text(app)
        assert "via email" in text.split("One more question")[0].splitlines()[-2]
        assert conversation(desk, "alex").status is ConversationStatus.open
        await wait_for(pilot, lambda: "status: open" in screen_text(app), what="reopened shown")
        notices = [n.message for n in app._notifications]
        assert any("answered via email" in n and "One more question" in n for n in notices)


async def test_send_without_email_fallback_and_assign_release(desk, make_console):
    app = make_console()
    bea = desk.conversations["bea"]
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: rows_loaded(app))
        app.open_conversation(bea)
        await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen) and app.screen.shown is not None)
        await pilot.press("a")
        await wait_for(pilot, lambda: conversation(desk, "bea").assignee_id == desk.agent_id)
        await pilot.press("r", *"Hallo!", "ctrl+o")
        await wait_for(pilot, lambda: conversation(desk, "bea").last_seq == 3)
        with desk.db.read_session() as session:
            message = ConversationService(session, desk.clock).transcript(bea, after_seq=2)[0]
        assert message.email_fallback is False
        await wait_for(pilot, lambda: "no email fallback" in screen_text(app))
        await pilot.press("escape", "u")
        await wait_for(pilot, lambda: conversation(desk, "bea").assignee_id is None)
        await pilot.press("q")
        assert isinstance(app.screen, QueueScreen)


async def test_take_next_assigns_the_oldest_waiting_to_me(desk, make_console):
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: rows_loaded(app))
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen))
        assert app.screen.conversation_id == desk.conversations["alex"]
        assert conversation(desk, "alex").assignee_id == desk.agent_id


async def test_two_consoles_on_one_file_see_each_others_replies(desk, make_console):
    sam_app = make_console("sam")
    kim_db = Database(desk.db.engine.url.render_as_string(hide_password=False))  # as another process would
    from tests.tui.conftest import console_config
    from tui.app import build_app

    kim_app = build_app(kim_db, agent_handle="kim", clock=desk.clock, config=console_config(), poll_seconds=0.05)
    chen = desk.conversations["chen"]
    try:
        async with sam_app.run_test(size=(120, 36)) as sam, kim_app.run_test(size=(120, 36)) as kim:
            await wait_for(sam, lambda: rows_loaded(sam_app))
            await wait_for(kim, lambda: rows_loaded(kim_app))
            # Each app opens it from its own message loop (two apps share this test's context).
            sam_app.call_later(sam_app.open_conversation, chen)
            kim_app.call_later(kim_app.open_conversation, chen)
            await wait_for(sam, lambda: isinstance(sam_app.screen, ConversationScreen) and sam_app.screen.shown)
            await wait_for(kim, lambda: isinstance(kim_app.screen, ConversationScreen) and kim_app.screen.shown)
            await sam.press("r", *"Sam here, taking over.", "ctrl+s")
            await wait_for(sam, lambda: conversation(desk, "chen").last_seq == 3)
            seconds = await wait_for(kim, lambda: "Sam here, taking over." in screen_text(kim_app), limit=1.0,
                                     what="reply in the other console")
            assert seconds < 1.0
    finally:
        kim_db.dispose()


async def test_search_and_filters(desk, make_console):
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: rows_loaded(app))
        await pilot.press("slash", *"login", "enter")
        await wait_for(pilot, lambda: rows_loaded(app) and app.screen.query_one("#queue", DataTable).row_count == 1)
        assert [int(k.value) for k in app.screen.query_one("#queue", DataTable).rows] == [desk.conversations["bea"]]
        await pilot.press("escape")
        await wait_for(pilot, lambda: rows_loaded(app) and app.screen.query_one("#queue", DataTable).row_count == 4)
        await pilot.press("f", "f", "f", "f")  # all -> mine -> unassigned -> pending -> solved
        await wait_for(pilot, lambda: rows_loaded(app) and app.screen.queue_filter.value == "solved"
                       and app.screen.query_one("#queue", DataTable).row_count == 1)
        assert [int(k.value) for k in app.screen.query_one("#queue", DataTable).rows] == [desk.conversations["eli"]]


async def test_new_conversation_is_announced_and_listed_live(desk, make_console):
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: rows_loaded(app))
        await wait_for(pilot, lambda: any("waiting" in n.message for n in app._notifications), what="waiting count")
        with desk.db.session() as session:
            service = ConversationService(session, desk.clock)
            end_user = service.create_end_user("[bold red]Mallory[/]")
            conversation = service.start_conversation(end_user.id)
            service.post_end_user_message(conversation.id, "hello")
        await wait_for(pilot, lambda: str(conversation.id) in app.screen.query_one("#queue", DataTable).rows)
        notice = next(n for n in app._notifications if "New conversation" in n.message)
        assert "[bold red]Mallory[/]" in notice.message and notice.markup is False


async def test_command_palette_offers_every_action_and_runs_it(desk, make_console):
    from tui.commands import palette_entries

    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: rows_loaded(app))
        titles = {title for title, _help, _run in palette_entries(app.screen, app)}
        for node in (app.screen, app):
            for binding in node.BINDINGS:
                if binding.id and node.check_action(binding.action, ()):
                    assert binding.description in titles
        assert "Filter: Solved" in titles
        await pilot.press("ctrl+p")
        await pilot.press(*"Take next")
        await wait_for(pilot, lambda: app.screen.query("CommandList") and
                       app.screen.query_one("CommandList").option_count > 0, what="palette hits")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen), what="palette ran the action")
        assert app.screen.conversation_id == desk.conversations["alex"]


async def test_agent_messages_show_seen_emailed_or_failed(desk, make_console):
    from datetime import timedelta

    from core.models import OutboxJob, OutboxStatus

    chen = desk.conversations["chen"]
    with desk.db.session() as session:
        service = ConversationService(session, desk.clock)
        service.post_agent_message(chen, desk.other_agent_id, "Second answer.")
        service.post_agent_message(chen, desk.other_agent_id, "Third answer.")
        sent_at = desk.clock.now() + timedelta(minutes=5)
        session.add(OutboxJob(conversation_id=chen, idempotency_key="k2", first_seq=2, last_seq=3,
                              to_address="chen@example.com", message_id="<k2@x>", status=OutboxStatus.sent,
                              next_attempt_at=sent_at, created_at=sent_at, sent_at=sent_at))
        session.add(OutboxJob(conversation_id=chen, idempotency_key="k4", first_seq=4, last_seq=4,
                              to_address="chen@example.com", message_id="<k4@x>", status=OutboxStatus.failed,
                              next_attempt_at=sent_at, created_at=sent_at, last_error="550 no such user"))
        session.commit()
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: rows_loaded(app))
        app.open_conversation(chen)
        await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen) and app.screen.shown is not None)
        text = screen_text(app)
        assert f"emailed {sent_at:%H:%M}" in text
        assert "email failed" in text and "550 no such user" in text
        with desk.db.session() as session:
            ConversationService(session, desk.clock).mark_read(chen, AuthorKind.end_user, 4)
        await wait_for(pilot, lambda: screen_text(app).count("· seen") == 2, what="seen marks")


async def test_wait_times_move_on_and_the_bell_rings_when_configured(desk, make_console):
    from datetime import timedelta

    from tests.tui.conftest import console_config

    config = console_config()
    config.console.bell = True
    app = make_console(config=config)
    rings = []
    app.bell = lambda: rings.append(1)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: rows_loaded(app) and rings, what="bell for waiting conversations")
        table = app.screen.query_one("#queue", DataTable)
        assert str(table.get_row_at(0)[3]) == "1h 12m"
        desk.clock.advance(timedelta(hours=1))
        app.screen.refresh_wait_times()
        assert str(table.get_row_at(0)[3]) == "2h 12m"


async def test_labels_are_in_the_agents_language(desk):
    from core.agents import AgentService
    from core.i18n import translations
    from tests.tui.conftest import console_config
    from tui.app import build_app
    from tui.i18n import set_language

    with desk.db.session() as session:
        AgentService(session, desk.clock).add("jonas", "Jonas Agent", language="de")
    expected_tab = translations("de").gettext("All waiting")
    expected_key = translations("de").gettext("Take next")
    app = build_app(desk.db, agent_handle="jonas", clock=desk.clock, config=console_config(), poll_seconds=0.05)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_for(pilot, lambda: rows_loaded(app))
            assert str(app.screen.query_one("#filter-all").label) == expected_tab
            from tui.commands import palette_entries
            from tui.widgets.key_bar import KeyBar

            await wait_for(pilot, lambda: expected_key in str(app.screen.query_one(KeyBar).render()), what="key bar")
            assert expected_key in {title for title, _key, _run in palette_entries(app.screen, app)}
            assert expected_tab != "All waiting"  # the German catalog is there, so this test can fail
    finally:
        set_language("en")


async def test_edit_email_language_and_block_the_end_user(desk, make_console):
    from textual.widgets import Input

    from core.end_users import EndUserService

    def end_user():
        with desk.db.read_session() as session:
            return EndUserService(session, desk.clock).get(desk.end_users["bea"])

    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: rows_loaded(app))
        app.open_conversation(desk.conversations["bea"])
        await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen) and app.screen.shown is not None)
        await pilot.press("e")
        await wait_for(pilot, lambda: app.screen.query(Input))
        app.screen.query_one(Input).value = "not an address"
        await pilot.press("enter")
        await wait_for(pilot, lambda: any(n.severity == "error" for n in app._notifications), what="refused")
        assert end_user().email is None
        await pilot.press("e")
        await wait_for(pilot, lambda: app.screen.query(Input))
        app.screen.query_one(Input).value = "bea@example.de"
        await pilot.press("enter")
        await wait_for(pilot, lambda: end_user().email == "bea@example.de")
        await pilot.press("l")
        await wait_for(pilot, lambda: app.screen.query("#language-tag"))
        app.screen.query_one("#language-tag", Input).focus()  # a tag not in the list of named languages
        await pilot.press(*"pt-BR", "enter")
        await wait_for(pilot, lambda: end_user().language == "pt_BR" and end_user().language_set_by_agent)
        await pilot.press("b")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("y")
        await wait_for(pilot, lambda: end_user().blocked)
        await wait_for(pilot, lambda: "BLOCKED" in screen_text(app))
        await pilot.press("b")
        await wait_for(pilot, lambda: not end_user().blocked)


async def test_switching_conversations_keeps_each_draft_and_shows_only_the_new_one(desk, make_console):
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: rows_loaded(app))
        app.open_conversation(desk.conversations["alex"])
        await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen) and app.screen.shown is not None)
        await pilot.press("r", *"draft for Alex", "escape", "q")
        await wait_for(pilot, lambda: isinstance(app.screen, QueueScreen))
        app.open_conversation(desk.conversations["bea"])
        await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen) and app.screen.shown is not None)
        assert app.screen.query_one("#reply", TextArea).text == ""
        assert "Ist jemand da?" in screen_text(app) and "order #4411" not in screen_text(app)
        app.open_conversation(desk.conversations["alex"])  # straight from one conversation to another
        await wait_for(pilot, lambda: app.screen.shown is not None and app.screen.conversation_id ==
                       desk.conversations["alex"])
        assert app.screen.query_one("#reply", TextArea).text == "draft for Alex"
        assert "order #4411" in screen_text(app) and "Ist jemand da?" not in screen_text(app)


async def test_queue_cells_follow_live_changes(desk, make_console):
    app = make_console()
    bea = desk.conversations["bea"]
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: rows_loaded(app))
        table = app.screen.query_one("#queue", DataTable)
        assert str(table.get_row(str(bea))[4]) == "2"
        with desk.db.session() as session:
            ConversationService(session, desk.clock).post_end_user_message(bea, "Hallo???")
            ConversationService(session, desk.clock).assign(bea, desk.other_agent_id)
        await wait_for(pilot, lambda: str(table.get_row(str(bea))[4]) == "3", what="unread count")
        await wait_for(pilot, lambda: str(table.get_row(str(bea))[5]) == "Kim Agent", what="assignee")
        assert str(table.get_row(str(bea))[6]) == "open"


async def test_the_agent_sees_other_profiles_claiming_an_address_and_merges_them_after_confirming(desk, make_console):
    from core.end_users import EndUserService
    from core.identity import IdentityService

    with desk.db.session() as session:
        service = ConversationService(session, desk.clock)
        EndUserService(session, desk.clock).set_email(desk.end_users["bea"], "bea@example.de")
        stranger = service.create_end_user("Someone", "BEA@example.de")
        service.start_conversation(stranger.id)
        stranger_id = stranger.id

    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: rows_loaded(app))
        app.open_conversation(desk.conversations["bea"])
        await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen) and app.screen.shown is not None)
        await wait_for(pilot, lambda: "1 other profiles gave this address" in screen_text(app), what="claimant shown")
        assert "unproven" in screen_text(app)
        await pilot.press("v")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("y")
        await wait_for(pilot, lambda: "proven" in screen_text(app) and "unproven" not in screen_text(app),
                       what="address confirmed")
        await pilot.press("m")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen)
                       and "other profiles gave" not in screen_text(app), what="merged")
    with desk.db.read_session() as session:
        identity = IdentityService(session, desk.clock)
        assert identity.claimants(desk.end_users["bea"]) == []
        assert EndUserService(session, desk.clock).get(stranger_id).merged_into_id == desk.end_users["bea"]

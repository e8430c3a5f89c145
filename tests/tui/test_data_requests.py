"""Pilot tests of the data-protection actions in the console: export (E) and erase (X) an end user's data, admins
only, on a real database; the export lands in a temporary HOME."""
from __future__ import annotations

import io
import json
import stat

from rich.console import Console
from sqlmodel import col, select
from textual.widgets import Button, Static

from core.data_requests import ERASED_MARKER
from core.event_kinds import EventKind
from core.models import EndUser, Event, Message
from tests.tui.helpers import open_conversation, queries_by_thread, screen_text, wait_for
from tui.commands import palette_entries
from tui.screens.conversation import ConversationScreen
from tui.screens.erase import EraseScreen, typed_matches
from tui.screens.help import HelpScreen
from tui.text import local_date


def _notices(app, text: str) -> list[str]:
    return [str(n.message) for n in app._notifications if text in str(n.message)]


def _events(desk, kind: EventKind) -> list[Event]:
    with desk.db.read_session() as session:
        return list(session.exec(select(Event).where(Event.kind == kind.value).order_by(col(Event.id))))


def _bodies(desk, key: str) -> list[str]:
    with desk.db.read_session() as session:
        return [m.body for m in session.exec(select(Message).where(Message.conversation_id == desk.conversations[key])
                                             .order_by(col(Message.seq)))]


def _end_user(desk, key: str) -> EndUser:
    with desk.db.read_session() as session:
        end_user = session.get(EndUser, desk.end_users[key])
        assert end_user is not None
        return end_user


async def test_export_writes_a_private_json_file_to_downloads_and_records_it(desk, make_console, tmp_path,
                                                                             monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    public_id = _end_user(desk, "alex").public_id
    day = local_date(desk.clock.now()).isoformat()
    downloads = tmp_path / "Downloads"
    assert not downloads.exists()  # the action creates it
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await open_conversation(pilot, app, desk.conversations["alex"])
        await pilot.press("E")
        await wait_for(pilot, lambda: _notices(app, "Exported everything"), what="export notice")
        first = downloads / f"threadline-end-user-{public_id}-{day}.json"
        assert _notices(app, str(first))
        await pilot.press("E")  # a second export never overwrites the first
        await wait_for(pilot, lambda: len(_notices(app, "Exported everything")) == 2, what="second export")
    second = downloads / f"threadline-end-user-{public_id}-{day}-1.json"
    assert sorted(p.name for p in downloads.iterdir()) == sorted([first.name, second.name])
    for path in (first, second):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = json.loads(first.read_text(encoding="utf-8"))
    assert document["end_user"]["id"] == desk.end_users["alex"]
    assert document["end_user"]["email"] == "alex@example.com"
    assert [c["id"] for c in document["conversations"]] == [desk.conversations["alex"]]
    assert [m["body"] for m in document["messages"]] == ["Where is my order #4411?"]
    exported = _events(desk, EventKind.end_user_exported)
    assert [(e.payload["end_user_id"], e.payload["by"]) for e in exported] == [(desk.end_users["alex"], "sam")] * 2
    assert _bodies(desk, "alex") == ["Where is my order #4411?"]  # an export changes nothing


async def test_erase_after_typing_the_name_replaces_the_messages_and_records_it(desk, make_console):
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await open_conversation(pilot, app, desk.conversations["bea"])
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(app.screen, EraseScreen), what="erase dialog")
        dialog = app.screen
        text = screen_text(app)
        assert "Bea Schmidt" in text and "cannot be undone" in text and "export their data first (E)" in text
        erase = dialog.query_one("#erase", Button)
        assert erase.disabled
        await pilot.press(*"bea")
        await pilot.press("enter")  # not the whole name: nothing happens
        await pilot.pause(0.1)
        assert app.screen is dialog and erase.disabled
        assert _notices(app, "exactly as shown")
        await pilot.press(*"  schmidt")
        await wait_for(pilot, lambda: not erase.disabled, what="erase button enabled")
        await pilot.click("#erase")
        await wait_for(pilot, lambda: _notices(app, "data is erased"), what="erase notice")
        await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen)
                       and screen_text(app).count(ERASED_MARKER) == 2, what="marker shown after reload")
        assert "Bea Schmidt" not in screen_text(app)
        assert _notices(app, "2 messages replaced by a marker")
    assert _bodies(desk, "bea") == [ERASED_MARKER, ERASED_MARKER]
    bea = _end_user(desk, "bea")
    assert bea.name is None and bea.email is None
    [erased] = _events(desk, EventKind.end_user_erased)
    assert erased.payload["end_user_id"] == desk.end_users["bea"] and erased.payload["by"] == "sam"
    assert erased.payload["messages_erased"] == 2
    assert _bodies(desk, "alex") == ["Where is my order #4411?"]  # nobody else's data


async def test_cancelling_the_erasure_changes_nothing(desk, make_console):
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await open_conversation(pilot, app, desk.conversations["dana"])
        for cancel in ("escape", "#cancel"):
            await pilot.press("X")
            await wait_for(pilot, lambda: isinstance(app.screen, EraseScreen), what="erase dialog")
            assert "Dana [bold red]Evil[/]" in screen_text(app)  # named literally, never as markup
            await pilot.press(*"Dana [bold red]Evil[/]")
            assert not app.screen.query_one("#erase", Button).disabled
            if cancel == "escape":
                await pilot.press("escape")
            else:
                await pilot.click(cancel)
            await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen), what="dialog closed")
        await pilot.pause(0.2)
    assert _events(desk, EventKind.end_user_erased) == []
    assert ERASED_MARKER not in _bodies(desk, "dana")
    assert _end_user(desk, "dana").name == "Dana [bold red]Evil[/]"


async def test_agents_who_are_not_admins_are_not_offered_either_action(desk, make_console, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    app = make_console("kim")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_conversation(pilot, app, desk.conversations["alex"])
        assert screen.check_action("export_end_user", ()) is False
        assert screen.check_action("erase_end_user", ()) is False
        titles = {title for title, _key, _run in palette_entries(screen, app)}
        assert "Export end user's data" not in titles and "Erase end user's data" not in titles
        await pilot.press("E", "X")
        await pilot.pause(0.2)
        assert app.screen is screen  # no dialog
        screen.action_erase_end_user()  # called directly all the same: refused with the reason
        screen.action_export_end_user()
        await pilot.pause(0.2)
        assert app.screen is screen and len(_notices(app, "Only admins can export or erase")) == 2
    assert not (tmp_path / "Downloads").exists()
    assert _events(desk, EventKind.end_user_exported) == [] and _events(desk, EventKind.end_user_erased) == []


async def test_admins_find_both_actions_in_the_palette_and_help(desk, make_console):
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_conversation(pilot, app, desk.conversations["alex"])
        titles = {title for title, _key, _run in palette_entries(screen, app)}
        assert {"Export end user's data", "Erase end user's data"} <= titles
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        text = _help_text(app)
        assert "Export end user's data" in text and "Erase end user's data" in text


def _help_text(app) -> str:
    """The help screen's key table as plain text (a Rich Table in a Static)."""
    console = Console(width=160, record=True, file=io.StringIO())
    for widget in app.screen.query(Static):
        console.print(widget.content)
    return console.export_text()


async def test_export_and_erasure_never_query_on_the_ui_thread(desk, make_console, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    app = make_console()
    with queries_by_thread(desk.db) as log:
        async with app.run_test(size=(120, 36)) as pilot:
            await open_conversation(pilot, app, desk.conversations["chen"])
            await pilot.press("E")
            await wait_for(pilot, lambda: _notices(app, "Exported everything"), what="export notice")
            await pilot.press("X")
            await wait_for(pilot, lambda: isinstance(app.screen, EraseScreen), what="erase dialog")
            await pilot.press(*"Chen Li", "enter")
            await wait_for(pilot, lambda: _notices(app, "data is erased"), what="erase notice")
            await wait_for(pilot, lambda: ERASED_MARKER in screen_text(app), what="marker shown")
    assert len(log.statements) > 20
    assert log.on_ui_thread == []


def test_the_typed_name_must_be_the_whole_label():
    assert typed_matches("  bea   SCHMIDT ", "Bea Schmidt")
    assert not typed_matches("Bea", "Bea Schmidt")
    assert not typed_matches("", "")
    assert not typed_matches("Bea Schmidt!", "Bea Schmidt")

"""People's text is shown literally: Rich markup, Textual actions and terminal escape sequences stay inert."""
from __future__ import annotations

from textual.widgets import DataTable

from core.conversations import ConversationService
from tests.tui.helpers import rows_loaded, screen_text, wait_for
from tui.screens.conversation import ConversationScreen
from tui.text import literal, plain, strip_controls


def test_escape_sequences_and_controls_are_removed_whole():
    raw = "a\x1b[31mred\x1b[0m b\x1b]0;owned\x07c \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ \x9b2J d\x00e\x07f\tg\nh"
    assert strip_controls(raw) == "ared bc link  def\tg\nh"
    assert strip_controls(raw, keep_newlines=False) == "ared bc link  defgh"


def test_markup_is_kept_as_text():
    text = literal("[bold red]x[/] [@click=app.quit]y[/]")
    assert text.plain == "[bold red]x[/] [@click=app.quit]y[/]"
    assert text.spans == []
    assert plain("[b]" + "x" * 100, limit=10) == "[b]xxxxxx…"


async def test_markup_and_escapes_in_names_and_messages_render_inert(desk, make_console):
    dana = desk.conversations["dana"]
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: rows_loaded(app))
        row = app.screen.query_one("#queue", DataTable).get_row(str(dana))
        assert row[0].plain == "Dana [bold red]Evil[/]" and row[0].spans == []
        app.open_conversation(dana)
        await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen) and app.screen.shown is not None)
        text = screen_text(app)
        assert "[@click=app.quit]click me[/] red [bold]not bold[/bold]" in text
        assert "Dana [bold red]Evil[/]" in text
        # Clicking the would-be link does nothing: the app keeps running on the same screen.
        box = app.screen.query(".message").first()
        await pilot.click(box, offset=(3, 1))
        await pilot.pause(0.1)
        assert app.is_running and isinstance(app.screen, ConversationScreen)
        # An escape sequence arriving through a name (names are validated, so simulate with a stored value) is removed.
        with desk.db.session() as session:
            end_user = ConversationService(session, desk.clock).end_user(desk.end_users["dana"])
            end_user.name = "Dana\x1b[2J\x1b]0;pwned\x07 Evil"
            session.add(end_user)
            session.commit()
        app.screen.reload()
        await wait_for(pilot, lambda: "Dana Evil" in screen_text(app))
        assert "\x1b" not in screen_text(app) and "pwned" not in screen_text(app)

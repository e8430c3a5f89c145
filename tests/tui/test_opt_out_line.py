"""The conversation header says when the end user's address stopped notification emails, and how."""
from __future__ import annotations

from core.opt_outs import OptOutService, OptOutSource
from tests.tui.helpers import rows_loaded, screen_text, wait_for
from tui.screens.conversation import ConversationScreen


async def test_header_shows_that_the_recipient_stopped_emails(desk, make_console):
    with desk.db.session() as session:
        OptOutService(session, desk.clock).stop("alex@example.com", OptOutSource.one_click)
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: rows_loaded(app))
        app.open_conversation(desk.conversations["alex"])
        await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen) and app.screen.shown is not None)
        expected = f"Email notifications stopped by the recipient on {desk.clock.now().date().isoformat()} (one-click)"
        assert expected in screen_text(app)
        app.open_conversation(desk.conversations["chen"])
        await wait_for(pilot, lambda: app.screen.shown is not None
                       and app.screen.shown.conversation.id == desk.conversations["chen"])
        assert "Email notifications stopped" not in screen_text(app)

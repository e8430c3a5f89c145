"""Articles in a conversation, in Pilot: the header lists what the widget suggested and what was read, and ctrl+l in
the reply box searches published articles and inserts the picked one's public link."""
from __future__ import annotations

from textual.widgets import OptionList, Static, TextArea

from core.articles import ArticleService
from tests.tui.helpers import rows_loaded, wait_for
from tui.screens.article_picker import ArticlePicker
from tui.screens.conversation import ConversationScreen


async def test_suggested_and_read_articles_show_and_a_link_goes_into_the_reply(desk, make_console):
    with desk.db.session() as session:
        service = ArticleService(session, desk.clock)
        reset = service.create("Reset your password", "Open Settings.", "en", published=True)
        billing = service.create("Change your billing address", "Open the account page.", "en", published=True)
        service.record_suggested(desk.conversations["alex"], [reset.id, billing.id])
        service.record_read(desk.conversations["alex"], reset.id)
    app = make_console("sam", help_center_url="https://support.example.com/")
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: rows_loaded(app))
        app.open_conversation(desk.conversations["alex"])
        await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen) and app.screen.shown is not None)
        header = str(app.screen.query_one("#conversation-header", Static).render())
        assert "Articles shown to the end user:" in header
        assert "Reset your password (read)" in header and "Change your billing address (not opened)" in header
        await pilot.press("r")
        reply = app.screen.query_one("#reply", TextArea)
        await wait_for(pilot, lambda: reply.has_focus)
        await pilot.press(*"See ")
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: isinstance(app.screen, ArticlePicker))
        await pilot.press(*"billing")
        await wait_for(pilot, lambda: app.screen.query_one(OptionList).option_count == 1)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen) and reply.has_focus)
        assert reply.text == "See Change your billing address: https://support.example.com/help/en/change-your-billing-address"

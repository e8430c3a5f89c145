"""The Articles screen in Pilot: admins open it by key and by the command palette, edit an article's body with a live
Markdown preview, save, publish, and make a new one; other agents cannot open it."""
from __future__ import annotations

from textual.widgets import DataTable, Input, Markdown, TextArea

from core.articles import ArticleService
from tests.tui.helpers import rows_loaded, wait_for
from tui.commands import palette_entries
from tui.screens.articles import ArticlesScreen


def _article(desk, title="Reset your password", body="Open **Settings**.", language="en", published=False):
    with desk.db.session() as session:
        return ArticleService(session, desk.clock).create(title, body, language, published=published).id


def _stored(desk, article_id):
    with desk.db.read_session() as session:
        article = ArticleService(session, desk.clock).get(article_id)
        return article.title, article.body, article.published


async def _open_articles(pilot, count: int) -> ArticlesScreen:
    app = pilot.app
    await wait_for(pilot, lambda: rows_loaded(app))
    await pilot.press("f5")
    await wait_for(pilot, lambda: isinstance(app.screen, ArticlesScreen)
                   and app.screen.query_one("#articles", DataTable).row_count == count)
    return app.screen


async def test_admin_edits_previews_saves_and_publishes(desk, make_console):
    article_id = _article(desk)
    app = make_console("sam")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await _open_articles(pilot, 1)
        await pilot.press("enter")
        body = screen.query_one("#article-body", TextArea)
        await wait_for(pilot, lambda: body.text == "Open **Settings**." and body.has_focus)
        assert screen.query_one("#article-title", Input).value == "Reset your password"
        body.move_cursor(body.document.end)
        await pilot.press(*" Then *Reset*.")
        preview = screen.query_one("#article-preview", Markdown)
        await wait_for(pilot, lambda: "Reset" in preview.source)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: _stored(desk, article_id)[1] == "Open **Settings**. Then *Reset*.")
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: _stored(desk, article_id)[2] is True)
        table = screen.query_one("#articles", DataTable)
        await wait_for(pilot, lambda: table.get_cell_at((0, 2)) == "yes")
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: _stored(desk, article_id)[2] is False)


async def test_unsaved_changes_are_not_dropped_by_leaving(desk, make_console):
    article_id = _article(desk)
    app = make_console("sam")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await _open_articles(pilot, 1)
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.query_one("#article-body", TextArea).has_focus)
        await pilot.press("x")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen  # still here, with a warning to save first
        assert _stored(desk, article_id)[1] == "Open **Settings**."


async def test_new_article_from_the_palette_entry(desk, make_console):
    app = make_console("sam")
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: rows_loaded(app))
        titles = [title for title, _key, _callback in palette_entries(app.screen, app)]
        assert "Articles" in titles
        entry = next(callback for title, _key, callback in palette_entries(app.screen, app) if title == "Articles")
        entry()
        await wait_for(pilot, lambda: isinstance(app.screen, ArticlesScreen))
        screen = app.screen
        await pilot.press("ctrl+n")
        await pilot.press(*"Shipping times", "enter")
        await pilot.press("end", "backspace", "backspace", *"de", "enter")
        await wait_for(pilot, lambda: screen.query_one("#articles", DataTable).row_count == 1)
        with desk.db.read_session() as session:
            [article] = ArticleService(session, desk.clock).articles()
        assert (article.title, article.language, article.slug, article.published) == (
            "Shipping times", "de", "shipping-times", False)


async def test_only_admins_open_articles(desk, make_console):
    app = make_console("kim")
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: rows_loaded(app))
        await pilot.press("f5")
        await pilot.pause()
        assert not isinstance(app.screen, ArticlesScreen)

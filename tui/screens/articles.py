"""Help-center articles for admins: the list, an editor (title, Markdown body) with a live preview, publishing."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Markdown, Static, TextArea

from core.articles import ArticleService
from tui.console_context import ConsoleContext
from tui.i18n import N_, _
from tui.messages import ArticleCreated, ArticlePublished, ArticleSaved, ChangeDone, LiveChanged
from tui.screens.prompt import PromptScreen
from tui.screens.workers import ChangesInWorkers, show_change_done
from tui.text import literal
from tui.widgets.key_bar import KeyBar


@dataclass(frozen=True)
class ArticleRow:
    """One article as the screen shows and edits it (a plain value, safe to pass between threads)."""

    id: int
    title: str
    slug: str
    language: str
    body: str
    published: bool


class ArticlesLoaded(Message):
    """Every article was read; generation tells a stale result from the latest."""

    def __init__(self, generation: int, rows: list[ArticleRow]) -> None:
        super().__init__()
        self.generation = generation
        self.rows = rows


class ArticlesScreen(ChangesInWorkers, Screen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", N_("Back"), id="articles.back"),
        Binding("ctrl+s", "save", N_("Save article"), id="articles.save"),
        Binding("ctrl+t", "toggle_published", N_("Publish/unpublish"), id="articles.publish"),
        Binding("ctrl+n", "new_article", N_("New article"), id="articles.new"),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__()
        self.context = context
        self.rows: list[ArticleRow] = []
        self.generation = 0
        self.editing: ArticleRow | None = None
        self.select_after_load: int | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="articles-body"):
            yield DataTable(id="articles", cursor_type="row")
            with Vertical(id="article-editor"):
                yield Static(_("Choose an article with Enter, or make one with ctrl+n."), id="article-state",
                             markup=False)
                yield Input(id="article-title", placeholder=_("Title"))
                yield TextArea(id="article-body", soft_wrap=True, show_line_numbers=False)
                yield Static(_("Preview"), classes="section-title")
                with VerticalScroll(id="article-preview-scroll"):
                    yield Markdown(id="article-preview")
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one("#articles", DataTable)
        table.add_column(_("Title"), key="title", width=22)
        table.add_column(_("Language"), key="language", width=8)
        table.add_column(_("Published"), key="published", width=9)
        table.focus()
        self.reload()

    def reload(self) -> None:
        self.generation += 1
        self._load(self.generation)

    @work(thread=True, name="articles-load", group="articles", exit_on_error=False)
    def _load(self, generation: int) -> None:
        context = self.context
        with context.db.read_session() as session:
            rows = [ArticleRow(id=a.id or 0, title=a.title, slug=a.slug, language=a.language, body=a.body,
                               published=a.published) for a in ArticleService(session, context.clock).articles()]
        self.post_message(ArticlesLoaded(generation, rows))

    @on(ArticlesLoaded)
    def _loaded(self, message: ArticlesLoaded) -> None:
        message.stop()
        if message.generation != self.generation:
            return
        self.rows = message.rows
        table = self.query_one("#articles", DataTable)
        cursor = table.cursor_row
        table.clear()
        for row in self.rows:
            table.add_row(literal(row.title, one_line=True), row.language.replace("_", "-"),
                          _("yes") if row.published else _("draft"), key=str(row.id))
        wanted = self.select_after_load if self.select_after_load is not None else (
            self.editing.id if self.editing else None)
        self.select_after_load = None
        index = next((i for i, row in enumerate(self.rows) if row.id == wanted), None)
        if index is not None:
            table.move_cursor(row=index)
            self._edit(self.rows[index], keep_text=self.editing is not None and self.editing.id == wanted)
        elif table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))
        self.refresh_bindings()

    @on(LiveChanged)
    def _live_changed(self, message: LiveChanged) -> None:
        if any(kind.startswith("article.") for kind in message.change.kinds):
            self.reload()

    # --- editing ----------------------------------------------------------------------------------------
    def _dirty(self) -> bool:
        if self.editing is None:
            return False
        return (self.query_one("#article-title", Input).value != self.editing.title
                or self.query_one("#article-body", TextArea).text != self.editing.body)

    def _edit(self, row: ArticleRow, *, keep_text: bool = False) -> None:
        """Show row in the editor; keep_text leaves what the agent typed (a reload after saving or publishing)."""
        dirty = keep_text and self._dirty()
        self.editing = row
        if not dirty:
            self.query_one("#article-title", Input).value = row.title
            self.query_one("#article-body", TextArea).load_text(row.body)
            self._preview(row.body)
        state = _("Published at {path}") if row.published else _("Draft, not public (ctrl+t publishes) · {path}")
        path = f"/help/{row.language.replace('_', '-')}/{row.slug}"
        self.query_one("#article-state", Static).update(state.format(path=path))

    def _preview(self, body: str) -> None:
        self.query_one("#article-preview", Markdown).update(body)

    @on(TextArea.Changed, "#article-body")
    def _body_changed(self, event: TextArea.Changed) -> None:
        self._preview(event.text_area.text)

    @on(DataTable.RowSelected, "#articles")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        row = next((r for r in self.rows if str(r.id) == event.row_key.value), None)
        if row is None:
            return
        if self._dirty() and self.editing is not None and row.id != self.editing.id:
            self.notify(_("Save this article first (ctrl+s), or undo your changes."), severity="warning")
            return
        self._edit(row)
        self.query_one("#article-body", TextArea).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("save", "toggle_published"):
            return self.editing is not None
        return True

    def action_save(self) -> None:
        if self.editing is None:
            return
        clock, article_id = self.context.clock, self.editing.id
        title = self.query_one("#article-title", Input).value
        body = self.query_one("#article-body", TextArea).text
        self._change(lambda s: ArticleService(s, clock).update(article_id, title=title, body=body),
                     ArticleSaved(article_id))

    def action_toggle_published(self) -> None:
        if self.editing is None:
            return
        clock, article_id, published = self.context.clock, self.editing.id, not self.editing.published
        self._change(lambda s: ArticleService(s, clock).set_published(article_id, published),
                     ArticlePublished(article_id, published))

    def action_new_article(self) -> None:
        if self._dirty():
            self.notify(_("Save this article first (ctrl+s), or undo your changes."), severity="warning")
            return
        language = self.context.agent.language or "en"

        def titled(title: str | None) -> None:
            if title and title.strip():
                self.app.push_screen(PromptScreen(_("Language of the article (a tag such as en, de or pt-BR)"),
                                                  language), lambda tag: self._create(title, tag))

        self.app.push_screen(PromptScreen(_("Title of the new article")), titled)

    def _create(self, title: str, language: str | None) -> None:
        if not language:
            return
        context = self.context

        def run() -> None:
            with context.db.session() as session:
                article = ArticleService(session, context.clock).create(title, "", language)
                article_id = article.id or 0
            self.post_message(ArticleCreated(article_id))

        self.run_worker(run, name="ArticleCreated", group="screen-change", thread=True, exit_on_error=False)

    @on(ChangeDone)
    def _change_done(self, message: ChangeDone) -> None:
        show_change_done(self, message)
        if isinstance(message, ArticleCreated):
            self.select_after_load = message.article_id
            self.editing = None
        if isinstance(message, ArticleSaved) and self.editing is not None:
            # What was saved is now the article: the reload must not count it as unsaved.
            self.editing = ArticleRow(self.editing.id, self.query_one("#article-title", Input).value,
                                      self.editing.slug, self.editing.language,
                                      self.query_one("#article-body", TextArea).text, self.editing.published)
        self.reload()

    def action_back(self) -> None:
        if self._dirty():
            self.notify(_("Save this article first (ctrl+s), or undo your changes."), severity="warning")
            return
        self.app.pop_screen()

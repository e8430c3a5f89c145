"""A dialog that searches published help-center articles as the agent types and returns the one picked."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from core.article_search import ArticleSearch
from core.articles import article_path
from tui.console_context import ConsoleContext
from tui.i18n import N_, _
from tui.screens.workers import ReportsWorkerFailures
from tui.text import literal

RESULTS = 8


@dataclass(frozen=True)
class ArticleLink:
    """A picked article: what the reply box gets."""

    title: str
    url: str


class ArticlesFound(Message):
    """Search results for query (only the latest query's are shown)."""

    def __init__(self, query: str, links: list[ArticleLink]) -> None:
        super().__init__()
        self.query = query
        self.links = links


class ArticlePicker(ReportsWorkerFailures, ModalScreen[ArticleLink | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", N_("Cancel"), id="article_picker.cancel"),
        Binding("down", "focus_results", N_("Results"), show=False, id="article_picker.results"),
    ]

    def __init__(self, context: ConsoleContext, language: str) -> None:
        super().__init__()
        self.context = context
        self.language = language
        self.links: list[ArticleLink] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(_("Search published articles ({language}); Enter inserts a link").format(
                language=self.language.replace("_", "-")), markup=False, classes="question")
            yield Input(id="article-query", placeholder=_("Words to search for"))
            yield OptionList(id="article-results")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Changed, "#article-query")
    def _query_changed(self, event: Input.Changed) -> None:
        self._search(event.value)

    @work(thread=True, exclusive=True, name="article-search", group="article-search", exit_on_error=False)
    def _search(self, query: str) -> None:
        context = self.context
        with context.db.read_session() as session:
            hits = ArticleSearch(session).search(query, self.language, RESULTS)
        self.post_message(ArticlesFound(query, [
            ArticleLink(hit.title, context.article_url(article_path(hit.language, hit.slug))) for hit in hits]))

    @on(ArticlesFound)
    def _found(self, message: ArticlesFound) -> None:
        message.stop()
        if message.query != self.query_one(Input).value:
            return
        self.links = message.links
        results = self.query_one(OptionList)
        results.clear_options()
        results.add_options([Option(literal(link.title, one_line=True)) for link in self.links])

    @on(Input.Submitted, "#article-query")
    def _submitted(self) -> None:
        if self.links:
            self.dismiss(self.links[0])

    @on(OptionList.OptionSelected, "#article-results")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.links[event.option_index])

    def action_focus_results(self) -> None:
        self.query_one(OptionList).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

"""The help center on the widget server: public search and article pages, and the widget's suggestions while the
end user waits (which articles were shown and read, and closing the conversation when one answered them)."""
from __future__ import annotations

from typing import Any, TypedDict

from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from core.article_search import MAX_RESULTS, ArticleHit, ArticleSearch
from core.articles import ArticleService, article_path, is_slug
from core.clock import Clock
from core.db import Database
from core.errors import InvalidTransition, NotFound
from core.i18n import N_, normalize_tag
from core.models import AuthorKind, ConversationStatus, Message
from core.settings import SettingsService
from core.wait_time import estimate
from widget.actions import WidgetDesk, conversation_json, stored_id
from widget.api import WidgetApi, request_language
from widget.article_pages import article_page, missing_article_page
from widget.client_input import public_id, whole_number, whole_number_text
from widget.errors import ApiError

MAX_QUERY_CHARS = 500
SUGGESTIONS = 3


class ArticleJson(TypedDict):
    id: int
    title: str
    snippet: str
    url: str
    language: str


def article_json(hit: ArticleHit, base_url: str) -> ArticleJson:
    return {"id": hit.id, "title": hit.title, "snippet": hit.snippet,
            "url": base_url + article_path(hit.language, hit.slug), "language": hit.language.replace("_", "-")}


class HelpDesk:
    """The help center's calls into core, each one short session, run in a worker thread."""

    def __init__(self, db: Database, clock: Clock, desk: WidgetDesk, *, suggest_after_wait_seconds: int) -> None:
        self.db = db
        self.clock = clock
        self.desk = desk
        self.suggest_after_wait_seconds = suggest_after_wait_seconds

    def search(self, query: str, language: str, limit: int, base_url: str) -> dict[str, Any]:
        with self.db.read_session() as session:
            hits = ArticleSearch(session).search(query, language, limit)
        return {"articles": [article_json(hit, base_url) for hit in hits]}

    def suggestions(self, end_user_id: int, conversation_public_id: str, language: str,
                    base_url: str) -> dict[str, Any]:
        """Up to three articles matching the end user's first message, when nobody may answer soon.

        Nothing is suggested once an agent took the conversation, or while agents are online and the expected wait
        is shorter than widget.suggest_articles_after_wait_seconds. What is shown is recorded for the agents.
        """
        with self.db.session() as session:
            end_user = self.desk._end_user(session, end_user_id)
            conversation = self.desk._conversation(session, end_user, conversation_public_id)
            if conversation.status is not ConversationStatus.queued or conversation.assignee_id is not None:
                return {"show": False, "articles": []}
            wait = estimate(session, self.clock)
            if wait.team_online and (wait.seconds is None or wait.seconds < self.suggest_after_wait_seconds):
                return {"show": False, "articles": []}
            first = session.exec(
                select(Message).where(Message.conversation_id == conversation.id,
                                      Message.author_kind == AuthorKind.end_user)
                .order_by(col(Message.seq)).limit(1)
            ).first()
            if first is None:
                return {"show": False, "articles": []}
            article_language = conversation.language or end_user.language or language
            hits = ArticleSearch(session).search(first.body, article_language, SUGGESTIONS)
            if not hits and article_language != language:
                hits = ArticleSearch(session).search(first.body, language, SUGGESTIONS)
            ArticleService(session, self.clock).record_suggested(stored_id(conversation), [hit.id for hit in hits])
            return {"show": bool(hits), "articles": [article_json(hit, base_url) for hit in hits]}

    def read(self, end_user_id: int, conversation_public_id: str, article_id: int) -> dict[str, Any]:
        with self.db.session() as session:
            end_user = self.desk._end_user(session, end_user_id)
            conversation = self.desk._conversation(session, end_user, conversation_public_id)
            try:
                article = ArticleService(session, self.clock).record_read(stored_id(conversation), article_id)
            except NotFound:
                raise ApiError("not_found", N_("There is no article {id}."), id=article_id) from None
            return {"article_id": article_id, "path": article_path(article.language, article.slug)}

    def self_served(self, end_user_id: int, conversation_public_id: str, article_id: int | None) -> dict[str, Any]:
        with self.db.session() as session:
            end_user = self.desk._end_user(session, end_user_id)
            conversation = self.desk._conversation(session, end_user, conversation_public_id)
            try:
                ArticleService(session, self.clock).solve_by_end_user(conversation, article_id)
            except InvalidTransition:
                raise ApiError("invalid_transition", N_("An agent is already handling this conversation, so it "
                                                        "stays open; they will reply here.")) from None
            session.refresh(conversation)
            return {"conversation": conversation_json(conversation)}

    def page(self, language: str, slug: str) -> tuple[int, str]:
        with self.db.read_session() as session:
            article = ArticleService(session, self.clock).published_by_slug(language, slug)
            if article is None:
                return 404, missing_article_page(language)
            brand = SettingsService(session, self.clock).load().brand_name
            return 200, article_page(article, brand)


class HelpCenterRoutes:
    """The HTTP side: the same limits and error handling as the rest of the API (WidgetApi.respond)."""

    def __init__(self, api: WidgetApi, help_desk: HelpDesk, public_url: str) -> None:
        self.api = api
        self.help_desk = help_desk
        self.public_url = public_url.rstrip("/")

    def base_url(self, request: Request) -> str:
        """Where article pages are reached: widget.public_url, else this server as the request reached it."""
        return self.public_url or str(request.base_url).rstrip("/")

    async def search(self, request: Request) -> Response:
        language = request_language(request)
        # An article language needs no catalog (Italian articles, say): ?lang= as given when it is a language tag.
        raw_language = normalize_tag(request.query_params.get("lang") or "") or language

        async def work(_end_user_id: None) -> Any:
            query = request.query_params.get("q", "")
            if len(query) > MAX_QUERY_CHARS:
                raise ApiError("invalid_input", N_("The search is longer than {limit} characters."),
                               limit=MAX_QUERY_CHARS)
            limit = whole_number_text(request.query_params.get("limit", "5"), "limit")
            return await run_in_threadpool(self.help_desk.search, query, raw_language,
                                           max(1, min(limit, MAX_RESULTS)), self.base_url(request))
        return await self.api.respond(request, work, token_required=False)

    async def suggestions(self, request: Request) -> Response:
        language = request_language(request)

        async def work(end_user_id: int) -> Any:
            return await run_in_threadpool(self.help_desk.suggestions, end_user_id,
                                           public_id(request.path_params["id"]), language, self.base_url(request))
        return await self.api.respond(request, work)

    async def read(self, request: Request) -> Response:
        async def work(end_user_id: int) -> Any:
            article_id = whole_number_text(request.path_params["article_id"], "article_id")
            return await run_in_threadpool(self.help_desk.read, end_user_id, public_id(request.path_params["id"]),
                                           article_id)
        return await self.api.respond(request, work)

    async def self_served(self, request: Request) -> Response:
        async def work(end_user_id: int) -> Any:
            body = await self.api.json_body(request)
            article_id = None if body.get("article_id") is None else whole_number(body.get("article_id"),
                                                                                  "article_id")
            return await run_in_threadpool(self.help_desk.self_served, end_user_id,
                                           public_id(request.path_params["id"]), article_id)
        return await self.api.respond(request, work)

    async def page(self, request: Request) -> Response:
        language, slug = request.path_params["lang"], request.path_params["slug"]
        if len(language) > 35 or not is_slug(slug):
            status, page = 404, missing_article_page(request_language(request))
        else:
            status, page = await run_in_threadpool(self.help_desk.page, language, slug)
        # Public, script-free pages: a short cache is fine; edits show within a minute.
        return HTMLResponse(page, status_code=status, headers={"Cache-Control": "public, max-age=60"})

    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/articles/search", self.search, methods=["GET"]),
            Route("/api/v1/conversations/{id}/suggestions", self.suggestions, methods=["GET"]),
            Route("/api/v1/conversations/{id}/articles/{article_id}/read", self.read, methods=["POST"]),
            Route("/api/v1/conversations/{id}/self-served", self.self_served, methods=["POST"]),
            Route("/help/{lang}/{slug}", self.page, methods=["GET"]),
        ]

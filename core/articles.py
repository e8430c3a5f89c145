"""Help-center articles: write, publish and read them; record which were suggested and read, and self-service."""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.clock import Clock
from core.conversation_writes import change_status
from core.errors import InvalidInput, InvalidTransition, NotFound
from core.event_kinds import EventKind
from core.events import record_event
from core.i18n import _
from core.language_tags import language_tag
from core.models import Article, Conversation, ConversationStatus, Event, row_id
from core.transactions import transactional

MAX_TITLE_CHARS = 200
MAX_SLUG_CHARS = 200
MAX_BODY_CHARS = 100_000
MAX_TAGS = 20
MAX_TAG_CHARS = 64

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def is_slug(text: str) -> bool:
    """Whether text is a well-formed slug (lowercase ASCII letters and digits, joined by single hyphens)."""
    return len(text) <= MAX_SLUG_CHARS and _SLUG.match(text) is not None


def slug_from_title(title: str) -> str:
    """A slug made from a title: ASCII letters and digits joined by hyphens ("Reset your password!" ->
    "reset-your-password"); '' when nothing is left (a title in Japanese, say)."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    return "-".join(re.findall(r"[a-z0-9]+", ascii_title))[:MAX_SLUG_CHARS].strip("-")


def public_language(language: str) -> str:
    """The language as it appears in a public address: BCP 47 (pt-BR), not Babel's pt_BR."""
    return language.replace("_", "-")


def article_path(language: str, slug: str) -> str:
    """The public page of an article on the widget server: /help/{language}/{slug}."""
    return f"/help/{public_language(language)}/{slug}"


def _clean_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise InvalidInput(_("An article needs a title."))
    if len(title) > MAX_TITLE_CHARS:
        raise InvalidInput(_("A title has at most {limit} characters.").format(limit=MAX_TITLE_CHARS))
    return title


def _clean_slug(slug: str) -> str:
    slug = (slug or "").strip().lower()
    if not is_slug(slug):
        raise InvalidInput(_("{slug!r} is not a slug; use lowercase letters, digits and hyphens, such as "
                             "reset-your-password.").format(slug=slug))
    return slug


def _clean_body(body: str) -> str:
    # Trailing blank lines mean nothing in Markdown; dropping them lets files round-trip unchanged.
    body = (body or "").replace("\r\n", "\n").replace("\r", "\n").rstrip()
    if len(body) > MAX_BODY_CHARS:
        raise InvalidInput(_("An article body has at most {limit} characters.").format(limit=MAX_BODY_CHARS))
    return body


def _clean_tags(tags: list[str] | None) -> list[str]:
    cleaned: list[str] = []
    for tag in tags or []:
        if not isinstance(tag, str):
            raise InvalidInput(_("Tags must be text."))
        tag = tag.strip().lower()
        if tag and tag not in cleaned:
            cleaned.append(tag[:MAX_TAG_CHARS])
    if len(cleaned) > MAX_TAGS:
        raise InvalidInput(_("An article has at most {limit} tags.").format(limit=MAX_TAGS))
    return cleaned


class ArticleService:
    """Plain service over one session; every public method that changes state is one transaction."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    # --- reading ------------------------------------------------------------------------------------
    def get(self, article_id: int) -> Article:
        article = self.session.get(Article, article_id)
        if article is None:
            raise NotFound(_("Article {id} does not exist.").format(id=article_id))
        return article

    def by_slug(self, language: str, slug: str) -> Article | None:
        """The article at language/slug (language in any spelling: pt-BR, pt_BR), or None."""
        try:
            tag = language_tag(language)
        except InvalidInput:
            return None
        return self.session.exec(select(Article).where(Article.language == tag, Article.slug == slug)).first()

    def published_by_slug(self, language: str, slug: str) -> Article | None:
        article = self.by_slug(language, slug)
        return article if article is not None and article.published else None

    def articles(self, language: str | None = None) -> list[Article]:
        """Every article (drafts too), by language then title."""
        query = select(Article)
        if language:
            query = query.where(Article.language == language_tag(language))
        return list(self.session.exec(query.order_by(col(Article.language), col(Article.title), col(Article.id))))

    # --- writing ------------------------------------------------------------------------------------
    @transactional
    def create(self, title: str, body: str, language: str, *, slug: str | None = None,
               tags: list[str] | None = None, published: bool = False) -> Article:
        """A new article; the slug defaults to one made from the title (InvalidInput when it is taken)."""
        now = self.clock.now()
        title = _clean_title(title)
        tag = language_tag(language)
        slug = _clean_slug(slug if slug else (slug_from_title(title) or "article"))
        self._refuse_taken_slug(tag, slug, None)
        article = Article(title=title, slug=slug, body=_clean_body(body), language=tag, tags=_clean_tags(tags),
                          published=published, created_at=now, updated_at=now)
        self.session.add(article)
        self.session.flush()
        record_event(self.session, now, EventKind.article_created, None, article_id=row_id(article),
                     language=tag, slug=slug)
        return article

    @transactional
    def update(self, article_id: int, *, title: str | None = None, body: str | None = None,
               slug: str | None = None, tags: list[str] | None = None, published: bool | None = None) -> Article:
        """Change the given fields of an article (None leaves a field as it is)."""
        article = self.get(article_id)
        now = self.clock.now()
        changed: list[str] = []
        if title is not None and _clean_title(title) != article.title:
            article.title = _clean_title(title)
            changed.append("title")
        if body is not None and _clean_body(body) != article.body:
            article.body = _clean_body(body)
            changed.append("body")
        if slug is not None and _clean_slug(slug) != article.slug:
            self._refuse_taken_slug(article.language, _clean_slug(slug), article.id)
            article.slug = _clean_slug(slug)
            changed.append("slug")
        if tags is not None and _clean_tags(tags) != article.tags:
            article.tags = _clean_tags(tags)
            changed.append("tags")
        if published is not None and published != article.published:
            article.published = published
            changed.append("published")
        if not changed:
            return article
        article.updated_at = now
        self.session.add(article)
        self.session.flush()
        if "published" in changed:
            kind = EventKind.article_published if article.published else EventKind.article_unpublished
            record_event(self.session, now, kind, None, article_id=row_id(article))
        if set(changed) - {"published"}:
            record_event(self.session, now, EventKind.article_updated, None, article_id=row_id(article),
                         fields=[name for name in changed if name != "published"])
        return article

    def set_published(self, article_id: int, published: bool) -> Article:
        return self.update(article_id, published=published)

    def _refuse_taken_slug(self, language: str, slug: str, own_id: int | None) -> None:
        existing = self.session.exec(select(Article).where(Article.language == language, Article.slug == slug)).first()
        if existing is not None and existing.id != own_id:
            raise InvalidInput(_("Another article in {language} already has the slug {slug!r}; choose another.")
                               .format(language=language, slug=slug))

    # --- the widget's help while the end user waits -------------------------------------------------
    @transactional
    def record_suggested(self, conversation_id: int, article_ids: list[int]) -> None:
        """Note in the conversation's log which articles the widget showed its end user."""
        if article_ids:
            record_event(self.session, self.clock.now(), EventKind.article_suggested, conversation_id,
                         article_ids=list(article_ids))

    @transactional
    def record_read(self, conversation_id: int, article_id: int) -> Article:
        """Note that the end user opened an article inside the conversation's widget."""
        article = self.get(article_id)
        if not article.published:
            raise NotFound(_("Article {id} does not exist.").format(id=article_id))
        record_event(self.session, self.clock.now(), EventKind.article_read, conversation_id, article_id=article_id,
                     title=article.title)
        return article

    @transactional
    def solve_by_end_user(self, conversation: Conversation, article_id: int | None) -> Conversation:
        """The end user says an article answered them: the conversation is solved, recorded as self-served.

        Only a conversation still waiting for its first agent (queued, unassigned) can be self-served: once an agent
        took it, closing it is the agent's call.
        """
        if conversation.status is not ConversationStatus.queued or conversation.assignee_id is not None:
            raise InvalidTransition(_("An agent is already handling this conversation."))
        now = self.clock.now()
        change_status(self.session, now, conversation, ConversationStatus.solved)
        record_event(self.session, now, EventKind.conversation_self_served, conversation.id, article_id=article_id)
        return conversation

    def articles_in_conversation(self, conversation_id: int) -> list[dict[str, Any]]:
        """What the conversation's end user was shown and opened: [{article_id, title, read}], in order shown."""
        events = self.session.exec(
            select(Event).where(Event.conversation_id == conversation_id,
                                col(Event.kind).in_([EventKind.article_suggested.value, EventKind.article_read.value]))
            .order_by(col(Event.id))
        ).all()
        shown: dict[int, dict[str, Any]] = {}
        for event in events:
            ids = event.payload.get("article_ids", []) if event.kind == EventKind.article_suggested.value else [
                event.payload.get("article_id")]
            for article_id in ids:
                if isinstance(article_id, int) and article_id not in shown:
                    article = self.session.get(Article, article_id)
                    shown[article_id] = {"article_id": article_id, "read": False,
                                         "title": article.title if article is not None else str(article_id)}
            if event.kind == EventKind.article_read.value:
                read_id = event.payload.get("article_id")
                if isinstance(read_id, int) and read_id in shown:
                    shown[read_id]["read"] = True
        return list(shown.values())


def self_served_count(session: Session, since: datetime | None = None, until: datetime | None = None) -> int:
    """How many conversations their end users closed themselves after reading an article (in [since, until))."""
    query = select(func.count()).select_from(Event).where(Event.kind == EventKind.conversation_self_served.value)
    if since is not None:
        query = query.where(col(Event.created_at) >= since)
    if until is not None:
        query = query.where(col(Event.created_at) < until)
    return int(session.exec(query).one())

"""The opt-out endpoints: RFC 8058 one-click POST, the confirming page behind the link, its undo, and the widget's
"email me again".

The signed token is the only credential (mail clients post it without cookies, and with no CSRF token, by
design); answers say whether emails are stopped and nothing else, never which conversation or address.
"""
from __future__ import annotations

from html import escape
from typing import Any

from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from core.clock import Clock
from core.db import Database
from core.errors import DatabaseBusy
from core.i18n import negotiate, translations
from core.models import EndUser, OptOutSource, OutboxJob
from core.opt_outs import OptOutService
from core.tokens import TokenSigner
from widget.api import WidgetApi, request_language
from widget.client_input import looks_like_token
from widget.proxies import TrustedProxies
from widget.ratelimit import RateLimiter, SharedRateLimits, retry_after_header

MAX_FORM_BYTES = 1024


class OptOutPages:
    """GET shows the state with a button; POST stops (one click); POST .../undo lifts. All idempotent."""

    def __init__(self, db: Database, clock: Clock, signer: TokenSigner, api: WidgetApi, *,
                 per_address: RateLimiter, shared: SharedRateLimits, proxies: TrustedProxies) -> None:
        self.db = db
        self.clock = clock
        self.signer = signer
        self.api = api
        self.per_address = per_address
        self.shared = shared
        self.proxies = proxies

    # --- database work (worker threads) -----------------------------------------------------------------------
    def _state(self, token: str) -> tuple[bool, str] | None:
        """(stopped?, the email's language) for a valid token, None otherwise."""
        with self.db.read_session() as session:
            found = OptOutService(session, self.clock).address_of_token(self.signer, token)
            if found is None:
                return None
            job_id, address = found
            job = session.get(OutboxJob, job_id)
            language = job.language if job is not None else None
            return OptOutService(session, self.clock).get(address) is not None, language or ""

    def _change(self, token: str, stop: bool) -> tuple[bool, str] | None:
        with self.db.session() as session:
            service = OptOutService(session, self.clock)
            found = service.address_of_token(self.signer, token)
            if found is None:
                return None
            job_id, address = found
            job = session.get(OutboxJob, job_id)
            language = (job.language if job is not None else None) or ""
            try:
                if stop:
                    service.stop(address, OptOutSource.one_click, job_id)
                else:
                    service.lift(address, "undo")
            except IntegrityError:
                # Two clicks at once on PostgreSQL: the other request stored the same stop first.
                if not stop:
                    raise
            return stop, language

    def _resume_end_user(self, end_user_id: int) -> dict[str, Any]:
        with self.db.session() as session:
            end_user = session.get(EndUser, end_user_id)
            lifted = bool(
                end_user and end_user.email and OptOutService(session, self.clock).lift(end_user.email, "widget")
            )
            return {"email_notifications": "on", "changed": lifted}

    # --- HTTP ---------------------------------------------------------------------------------------------------
    async def _limited(self, request: Request) -> float:
        """Seconds to wait before this client may ask again (0: go ahead); counted like the widget API's."""
        address = self.proxies.client_address(request.client.host if request.client else None,
                                              request.headers.getlist("x-forwarded-for"))
        key = f"ip:{address}"
        wait = self.per_address.hit(key)
        if wait > 0:
            return wait
        return await run_in_threadpool(self.shared.hit, [(key, int(self.per_address.capacity))])

    async def page(self, request: Request) -> Response:
        wait = await self._limited(request)
        if wait > 0:
            return self._too_many(request, wait)
        token = request.path_params["token"]
        try:
            if request.method == "POST":
                # The body is List-Unsubscribe=One-Click from a mail client, or the page's own form; either stops.
                await _small_body(request)
                state = await run_in_threadpool(self._change, token, True) if looks_like_token(token) else None
            else:
                state = await run_in_threadpool(self._state, token) if looks_like_token(token) else None
        except DatabaseBusy as busy:
            return self._busy(request, busy.retry_after)
        return self._render(request, token, state)

    async def undo(self, request: Request) -> Response:
        wait = await self._limited(request)
        if wait > 0:
            return self._too_many(request, wait)
        token = request.path_params["token"]
        await _small_body(request)
        try:
            state = await run_in_threadpool(self._change, token, False) if looks_like_token(token) else None
        except DatabaseBusy as busy:
            return self._busy(request, busy.retry_after)
        return self._render(request, token, state)

    async def resume_in_widget(self, request: Request) -> Response:
        """PUT /api/v1/me/email-notifications: the end user turns emails back on from the widget."""
        async def work(end_user_id: int) -> Any:
            return await run_in_threadpool(self._resume_end_user, end_user_id)
        # respond() calls work with the authenticated end user's id (its annotation says no argument).
        return await self.api.respond(request, work)

    def routes(self) -> list[Route]:
        return [
            Route("/unsubscribe/{token}", self.page, methods=["GET", "POST"]),
            Route("/unsubscribe/{token}/undo", self.undo, methods=["POST"]),
            Route("/api/v1/me/email-notifications", self.resume_in_widget, methods=["PUT"]),
        ]

    # --- pages ----------------------------------------------------------------------------------------------
    def _render(self, request: Request, token: str, state: tuple[bool, str] | None) -> Response:
        if state is None:
            language = request_language(request)
            gettext = translations(language).gettext
            invalid = escape(gettext("This link is not valid. Copy the whole link from the email."))
            return _page(language, gettext("Email notifications"), f"<p>{invalid}</p>", status=404)
        stopped, job_language = state
        language = negotiate(job_language or None, request_language(request))
        gettext = translations(language).gettext
        title = gettext("Email notifications")
        action = f"/unsubscribe/{escape(token)}"
        # Translated outside the f-strings below, where pybabel extract can see them.
        if stopped:
            note = escape(gettext("We will not email you about unread replies any more."))
            button = escape(gettext("Email me again"))
            body = (f"<p>{note}</p>\n"
                    f'<form method="post" action="{action}/undo"><button type="submit">{button}</button></form>')
        else:
            note = escape(gettext("Stop emails about unread replies in your conversation?"))
            button = escape(gettext("Stop these emails"))
            body = (f"<p>{note}</p>\n"
                    f'<form method="post" action="{action}"><input type="hidden" name="List-Unsubscribe" '
                    f'value="One-Click"><button type="submit">{button}</button></form>')
        return _page(language, title, body)

    def _too_many(self, request: Request, wait: float) -> Response:
        language = request_language(request)
        gettext = translations(language).gettext
        text = gettext("Too many requests; wait {seconds} seconds and try again.").format(seconds=max(1, round(wait)))
        return _page(language, gettext("Email notifications"), f"<p>{escape(text)}</p>", status=429,
                     headers=retry_after_header(wait))

    def _busy(self, request: Request, retry_after: float) -> Response:
        language = request_language(request)
        gettext = translations(language).gettext
        text = gettext("Something went wrong on our side; try again.")
        return _page(language, gettext("Email notifications"), f"<p>{escape(text)}</p>", status=503,
                     headers=retry_after_header(retry_after))


async def _small_body(request: Request) -> None:
    """Read (and drop) a form body of at most MAX_FORM_BYTES; its content does not matter."""
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            break


def _page(
    language: str, title: str, main: str, *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    html = f"""<!doctype html>
<html lang="{escape(language.replace('_', '-'))}" dir="auto">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{escape(title)}</title>
<link rel="stylesheet" href="/widget/demo.css">
</head>
<body>
<main>
<h1>{escape(title)}</h1>
{main}
</main>
</body>
</html>
"""
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})})

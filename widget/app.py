"""The widget server: one Starlette app serving the script, the demo page, the JSON API and the WebSockets."""
from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from core.clock import Clock
from core.config import Config
from core.db import Database
from core.events import Wakeup
from core.events import wakeup as process_wakeup
from core.i18n import translations
from core.identity import widget_secret
from core.package_data import package_folder
from core.tokens import TokenSigner
from widget.actions import WidgetDesk
from widget.api import WidgetApi, request_language
from widget.errors import error_response
from widget.help_center import HelpCenterRoutes, HelpDesk
from widget.live import ConversationFeed
from widget.metrics import RequestTimer, metrics_route
from widget.pages import conversation_page, demo_page
from widget.proxies import TrustedProxies
from widget.ratelimit import RateLimiter, SharedRateLimits
from widget.security import OriginPolicy, SecurityMiddleware
from widget.unsubscribe import OptOutPages
from widget.websocket import LiveEndpoint
from widget.write_slots import WriteSlots, WriteSlotsMiddleware

STATIC_DIR = package_folder("widget", "static")
# JSON bodies carry one message at most; leave room for JSON escaping (up to 6 bytes per character).
_REQUEST_OVERHEAD_BYTES = 4096


def create_app(config: Config, db: Database, clock: Clock, signer: TokenSigner, *, wakeup: Wakeup = process_wakeup,
               poll_interval: float = 0.02, monotonic: Callable[[], float] = time.monotonic,
               token_secret: str | bytes | None = None) -> Starlette:
    """The widget server for config, over db; used by `threadline serve`, `demo` and the tests alike.

    token_secret is the secret the signer was made with (for deriving the widget secret when none is configured);
    it defaults to config.secret().
    """
    settings = config.widget
    secret = widget_secret(settings.widget_secret, token_secret if token_secret is not None else config.secret())
    desk = WidgetDesk(db, clock, signer, secret, max_message_chars=settings.max_message_chars,
                      return_link_days=settings.return_link_days, session_days=settings.session_days,
                      attachment_max_bytes=config.attachments.max_bytes,
                      attachment_link_days=config.attachments.link_days)
    per_address = RateLimiter(settings.rate_limit_per_minute_per_address, monotonic)
    shared = SharedRateLimits(db, clock)
    proxies = TrustedProxies(settings.trusted_proxies)
    api = WidgetApi(desk, signer, per_token=RateLimiter(settings.rate_limit_per_minute, monotonic),
                    per_address=per_address, shared=shared, proxies=proxies,
                    max_request_bytes=settings.max_message_chars * 6 + _REQUEST_OVERHEAD_BYTES)
    feed = ConversationFeed(db, wakeup, poll_interval, clock, links=desk.links)
    writes = WriteSlots(db.write_timeout)
    live = LiveEndpoint(desk, signer, feed, per_address, shared, proxies, monotonic, writes=writes)
    help_center = HelpCenterRoutes(api, HelpDesk(db, clock, desk, suggest_after_wait_seconds=(
        settings.suggest_articles_after_wait_seconds)), settings.public_url)
    opt_outs = OptOutPages(db, clock, signer, api, per_address=per_address, shared=shared, proxies=proxies)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        feed.stop()

    async def page(request: Request) -> Response:
        return HTMLResponse(demo_page(request_language(request)), headers={"Cache-Control": "no-store"})

    async def return_page(request: Request) -> Response:
        # The script reads the token from the address, trades it for an end-user token, then drops it from history.
        brand = await run_in_threadpool(desk.brand_name)
        return HTMLResponse(conversation_page(request_language(request), brand), headers={"Cache-Control": "no-store"})

    async def http_error(request: Request, exc: Exception) -> Response:
        translator = translations(request_language(request))
        status = getattr(exc, "status_code", 500)
        if status == 405:
            return error_response("method_not_allowed", translator.gettext("This address does not take that method."))
        return error_response("not_found", translator.gettext("There is nothing at this address."))

    app = Starlette(
        routes=[
            Route("/", page, methods=["GET"]),
            Route("/return/{token}", return_page, methods=["GET"]),
            Route("/conversation", return_page, methods=["GET"]),
            *api.routes(),
            *opt_outs.routes(),
            *help_center.routes(),
            WebSocketRoute("/api/v1/conversations/{id}/live", live.handle),
            metrics_route(db, clock, TrustedProxies(settings.metrics_allow), lambda: feed.cursor),
            Mount("/widget", StaticFiles(directory=STATIC_DIR), name="static"),
        ],
        middleware=[Middleware(SecurityMiddleware, policy=OriginPolicy(settings.allowed_origins, settings.public_url)),
                    Middleware(WriteSlotsMiddleware, slots=writes),
                    Middleware(RequestTimer)],
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan,
    )
    app.state.desk = desk
    app.state.feed = feed
    app.state.widget_secret = secret
    return app

"""GET /metrics in Prometheus text format: the desk's gauges read from the database at scrape time, and this
process's counters (widget requests and WebSockets here, mail workers' in mail.metrics when they run in it)."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.clock import Clock
from core.db import Database
from core.desk_gauges import DeskGauges, read_desk_gauges
from widget.proxies import TrustedProxies

WEBSOCKETS = Gauge("threadline_websocket_connections", "WebSocket connections open on this process")
REQUEST_SECONDS = Histogram("threadline_http_request_duration_seconds",
                            "Widget server requests on this process by method, route and status class",
                            ["method", "route", "status"])


class RequestTimer:
    """ASGI middleware timing each HTTP request; the route label is the route's template, never the raw path
    (a public id or token in the path would make a new series per visitor)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def remember_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, remember_status)
        finally:
            REQUEST_SECONDS.labels(method=scope.get("method", ""), route=self._route(scope),
                                   status=f"{status // 100}xx").observe(time.perf_counter() - started)

    @staticmethod
    def _route(scope: Scope) -> str:
        application = scope.get("app")  # Starlette puts itself here before its middleware runs
        for route in getattr(application, "routes", []):
            match, _child = route.matches(scope)
            if match is Match.FULL:
                return str(getattr(route, "path", "other")) or "other"
        return "other"


class DeskCollector(Collector):
    """The database gauges of one scrape, rendered beside the process's own registry."""

    def __init__(self, gauges: DeskGauges, event_lag: int | None) -> None:
        self.gauges = gauges
        self.event_lag = event_lag

    def collect(self) -> Iterable[Metric]:
        g = self.gauges
        yield GaugeMetricFamily("threadline_conversations_waiting",
                                "Open or queued conversations whose end user waits for an answer",
                                value=g.conversations_waiting)
        yield GaugeMetricFamily("threadline_oldest_wait_seconds",
                                "How long the longest-waiting end user has waited", value=g.oldest_wait_seconds)
        yield GaugeMetricFamily("threadline_notifications_due",
                                "Conversations whose email notification is due but not yet in the outbox",
                                value=g.notifications_due)
        jobs = GaugeMetricFamily("threadline_outbox_jobs", "Outbox jobs (notification emails) by status",
                                 labels=["status"])
        for status, number in sorted(g.outbox_jobs.items()):
            jobs.add_metric([status], number)
        yield jobs
        yield GaugeMetricFamily("threadline_email_opt_outs", "Addresses that unsubscribed from notification emails",
                                value=g.email_opt_outs)
        yield GaugeMetricFamily("threadline_event_log_latest_id", "Id of the newest event-log entry",
                                value=g.latest_event_id)
        if self.event_lag is not None:
            yield GaugeMetricFamily("threadline_event_log_lag_events",
                                    "Events committed that this process's widget feed has not delivered yet",
                                    value=self.event_lag)


def metrics_route(db: Database, clock: Clock, allowed: TrustedProxies, cursor: Callable[[], int | None]) -> Route:
    """GET /metrics for peers in widget.metrics_allow that came directly, not through a reverse proxy (a proxy on
    loopback would otherwise hand the public a loopback peer)."""

    async def metrics(request: Request) -> Response:
        peer = request.client.host if request.client else None
        proxied = "x-forwarded-for" in request.headers or "forwarded" in request.headers
        if proxied or not allowed.networks or not allowed.trusts(peer):
            raise HTTPException(404)  # the app's own not-found answer: nothing here to find for others
        gauges = await run_in_threadpool(_read, db, clock)
        position = cursor()
        lag = max(0, gauges.latest_event_id - position) if position else None
        scrape = CollectorRegistry(auto_describe=False)
        scrape.register(DeskCollector(gauges, lag))
        body = generate_latest(scrape) + generate_latest(REGISTRY)
        return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})

    return Route("/metrics", metrics, methods=["GET"])


def _read(db: Database, clock: Clock) -> DeskGauges:
    with db.read_session() as session:
        return read_desk_gauges(session, clock.now())

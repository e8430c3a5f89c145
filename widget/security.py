"""Security at the edge of the widget server: origin allowlist, CORS, Content-Security-Policy and other headers."""
from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.i18n import _

ALLOWED_METHODS = "GET, POST, PUT, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type, Accept-Language"

_BASE_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    # Return links carry a token in the URL; never leak it to other sites. same-origin, not no-referrer: under
    # no-referrer a browser posts a page's own forms (the demo mailbox) and fetches with "Origin: null", which
    # the origin check must refuse; same-origin sends this server its real origin and other sites nothing.
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"cross-origin"),
]


def origin_of(url: str) -> str:
    """scheme://host[:port] of url, lowercased; '' when url has none."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def own_origin(scope: Scope) -> str:
    """The origin this request was addressed to (ws/wss mapped to http/https)."""
    scheme = {"ws": "http", "wss": "https"}.get(scope.get("scheme", "http"), scope.get("scheme", "http"))
    host = Headers(scope=scope).get("host", "")
    return f"{scheme}://{host.lower()}"


class OriginPolicy:
    """Which origins may call the API and embed the widget: this server, its public URL, and the allowlist."""

    def __init__(self, allowed_origins: list[str], public_url: str = "") -> None:
        self.public_url = public_url
        self.allow_any = "*" in allowed_origins
        self.allowed = {origin_of(o) for o in allowed_origins if o != "*"} - {""}
        if public_url and origin_of(public_url):
            self.allowed.add(origin_of(public_url))

    def allows(self, origin: str, scope: Scope) -> bool:
        origin = origin.strip().lower()
        return self.allow_any or origin == own_origin(scope) or origin in self.allowed

    def frame_ancestors(self) -> str:
        if self.allow_any:
            return "*"
        return " ".join(["'self'", *sorted(self.allowed)])


def content_security_policy(policy: OriginPolicy, public_url: str = "") -> str:
    """CSP for the pages this server serves: scripts and styles from here only, no inline code, no plugins.

    Built once from the configuration: never from request headers, so a forged Host cannot add a source or a
    report-uri to it. 'self' covers the page's own WebSocket in CSP 3 browsers; the public URL's socket origin is
    named too, for a server reached through a proxy under that name.
    """
    public_origin = origin_of(public_url)
    socket_origin = public_origin.replace("http", "ws", 1) if public_origin else ""
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        " ".join(filter(None, ["connect-src 'self'", socket_origin])),
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        f"frame-ancestors {policy.frame_ancestors()}",
    ])


class SecurityMiddleware:
    """Refuses foreign origins (HTTP and WebSocket), answers CORS preflights, adds security headers."""

    def __init__(self, app: ASGIApp, policy: OriginPolicy) -> None:
        self.app = app
        self.policy = policy
        self.content_security_policy = content_security_policy(policy, policy.public_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        origin = Headers(scope=scope).get("origin")
        if origin and origin != "null" and not self.policy.allows(origin, scope):
            await self._refuse(scope, receive, send)
            return
        if origin == "null":  # sandboxed frames and file:// pages: no origin to trust
            await self._refuse(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        cross_origin = bool(origin and origin.lower() != own_origin(scope))
        if scope["method"] == "OPTIONS" and cross_origin:
            await self._preflight(origin or "", send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _BASE_HEADERS:
                    headers.append(name.decode(), value.decode())
                if headers.get("content-type", "").startswith("text/html"):
                    headers["Content-Security-Policy"] = self.content_security_policy
                if cross_origin:
                    headers["Access-Control-Allow-Origin"] = origin or ""
                    headers["Access-Control-Expose-Headers"] = "Retry-After"
                headers.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _preflight(self, origin: str, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
            (b"access-control-allow-headers", ALLOWED_HEADERS.encode()),
            (b"access-control-max-age", b"600"),
            (b"vary", b"Origin"),
            *_BASE_HEADERS,
        ]})
        await send({"type": "http.response.body", "body": b""})

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = _("This website may not use the support widget; add its origin to widget.allowed_origins.")
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 4403, "reason": "origin_not_allowed"})
            return
        if "text/html" in Headers(scope=scope).get("accept", ""):  # a person's browser navigating: words, not JSON
            page = f"<!doctype html><meta charset='utf-8'><title>403</title><p>{html.escape(message)}</p>"
            content_type, payload = b"text/html; charset=utf-8", page.encode()
        else:
            body: dict[str, Any] = {"error": {"code": "origin_not_allowed", "message": message}}
            content_type, payload = b"application/json", json.dumps(body).encode()
        await send({"type": "http.response.start", "status": 403, "headers": [
            (b"content-type", content_type), (b"cache-control", b"no-store"), *_BASE_HEADERS,
        ]})
        await send({"type": "http.response.body", "body": payload})

"""The JSON API (the "API channel"): start a conversation, post, read the transcript, mark read, give an email."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.errors import DatabaseBusy, ThreadlineError
from core.i18n import N_, translations
from core.identity import IdentityClaim
from core.tokens import EndUserClaim, InvalidToken, TokenSigner
from widget.actions import WidgetDesk
from widget.client_input import looks_like_token, parse_json_object, public_id, whole_number, whole_number_text
from widget.downloads import download_response
from widget.errors import ERROR_CODES, ApiError, api_error_response, database_busy_error, error_response
from widget.proxies import TrustedProxies
from widget.ratelimit import RateLimiter, SharedRateLimits, retry_after_header
from widget.strings import accepted_languages, availability_text, negotiate_language, widget_strings
from widget.uploads import read_uploaded_file

log = logging.getLogger(__name__)


def request_language(request: Request) -> str:
    """The reader's language: ?lang= (repeatable), else Accept-Language, negotiated against the catalogs."""
    return negotiate_language(*request.query_params.getlist("lang"),
                              *accepted_languages(request.headers.get("accept-language")))


class WidgetApi:
    """Route handlers; each checks limits and the token, then runs one WidgetDesk call in a worker thread."""

    def __init__(self, desk: WidgetDesk, signer: TokenSigner, *, per_token: RateLimiter, per_address: RateLimiter,
                 shared: SharedRateLimits, proxies: TrustedProxies, max_request_bytes: int) -> None:
        self.desk = desk
        self.signer = signer
        self.per_token = per_token
        self.per_address = per_address
        self.shared = shared
        self.proxies = proxies
        self.max_request_bytes = max_request_bytes

    # --- plumbing -------------------------------------------------------------------------------------------
    def end_user_claim(self, request: Request, required: bool = True) -> EndUserClaim | None:
        """What the bearer token says (signature checked); whether it still opens a session is the desk's call."""
        header = request.headers.get("authorization", "")
        scheme, _sep, token = header.partition(" ")
        if not header:
            if required:
                raise ApiError("unauthorized", N_("Send the end-user token as 'Authorization: Bearer <token>'."))
            return None
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError("unauthorized", N_("Send the end-user token as 'Authorization: Bearer <token>'."))
        try:
            if not looks_like_token(token):
                raise InvalidToken("not a token")
            return self.signer.verify_end_user_token(token.strip())
        except InvalidToken:
            raise ApiError(
                "unauthorized", N_("Your chat session is not valid any more; start a new conversation.")
            ) from None

    def client_address(self, request: Request) -> str:
        return self.proxies.client_address(request.client.host if request.client else None,
                                           request.headers.getlist("x-forwarded-for"))

    def check_rate(self, limiter: RateLimiter, key: str) -> None:
        _refuse_when_waiting(limiter.hit(key))

    async def check_shared_rate(self, limits: list[tuple[str, int]]) -> None:
        _refuse_when_waiting(await run_in_threadpool(self.shared.hit, limits))

    async def json_body(self, request: Request) -> dict[str, Any]:
        length = request.headers.get("content-length")
        if length is not None and (not (length.isascii() and length.isdigit()) or int(length) > self.max_request_bytes):
            raise ApiError(
                "request_too_large", N_("The request is larger than {limit} bytes."), limit=self.max_request_bytes
            )
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_request_bytes:
                raise ApiError("request_too_large", N_("The request is larger than {limit} bytes."),
                               limit=self.max_request_bytes)
            chunks.append(chunk)
        raw = b"".join(chunks)
        if not raw.strip():
            return {}
        return parse_json_object(raw)

    # work receives the end user's id: an int when token_required, int | None otherwise (each route's own type).
    async def respond(self, request: Request, work: Callable[[Any], Awaitable[Any]], *, status: int = 200,
                      token_required: bool = True) -> Response:
        translator = translations(request_language(request))
        try:
            # The address is limited before the token is checked, so guessing tokens is throttled too. This
            # process's buckets turn a flood away first; the database's hold across every process.
            address_key = f"ip:{self.client_address(request)}"
            limits = [(address_key, int(self.per_address.capacity))]
            self.check_rate(self.per_address, address_key)
            try:
                claim = self.end_user_claim(request, required=token_required)
            except ApiError:
                await self.check_shared_rate(limits)  # a wrong token still counts against the address
                raise
            if claim is not None:
                self.check_rate(self.per_token, f"user:{claim.end_user_id}")
                limits.append((f"user:{claim.end_user_id}", int(self.per_token.capacity)))
            await self.check_shared_rate(limits)
            end_user_id = None
            if claim is not None:
                end_user_id = await run_in_threadpool(self.desk.authenticate, claim)
            result = await work(end_user_id)
        except ApiError as error:
            return api_error_response(error, translator)
        except DatabaseBusy as busy:  # nothing was written: the client may send the same request again
            return api_error_response(database_busy_error(busy.retry_after), translator)
        except ThreadlineError as error:
            code = error.code if error.code in ERROR_CODES else "invalid_input"
            return error_response(code, error.translated_with(translator))
        except Exception:
            log.exception("widget API request %s %s failed", request.method, request.url.path)
            return error_response("internal_error", translator.gettext("Something went wrong on our side; try again."))
        return JSONResponse(result, status_code=status, headers={"Cache-Control": "no-store"})

    # --- routes -----------------------------------------------------------------------------------------------
    async def start(self, request: Request) -> Response:
        async def work(end_user_id: int | None) -> Any:
            body = await self.json_body(request)
            return await run_in_threadpool(
                self.desk.start, end_user_id, name=_text(body, "name"), email=_text(body, "email"),
                identity=_identity_claim(body) if body.get("signature") is not None else None,
                language=_text(body, "language"), channel=body.get("channel"))
        return await self.respond(request, work, status=201, token_required=False)

    async def transcript(self, request: Request) -> Response:
        async def work(end_user_id: int) -> Any:
            after = whole_number_text(request.query_params.get("after", "0"), "after")
            return await run_in_threadpool(self.desk.transcript, end_user_id, public_id(request.path_params["id"]),
                                           after)
        return await self.respond(request, work)

    async def post(self, request: Request) -> Response:
        async def work(end_user_id: int) -> Any:
            body = await self.json_body(request)
            return await run_in_threadpool(self.desk.post, end_user_id, public_id(request.path_params["id"]),
                                           body.get("body"), body.get("channel"))
        return await self.respond(request, work, status=201)

    async def mark_read(self, request: Request) -> Response:
        async def work(end_user_id: int) -> Any:
            body = await self.json_body(request)
            seq = whole_number(body.get("seq"), "seq")
            return await run_in_threadpool(self.desk.mark_read, end_user_id, public_id(request.path_params["id"]), seq)
        return await self.respond(request, work)

    async def rating(self, request: Request) -> Response:
        async def work(end_user_id: int) -> Any:
            return await run_in_threadpool(self.desk.rating, end_user_id, public_id(request.path_params["id"]))
        return await self.respond(request, work)

    async def rate(self, request: Request) -> Response:
        async def work(end_user_id: int) -> Any:
            body = await self.json_body(request)
            return await run_in_threadpool(self.desk.rate, end_user_id, public_id(request.path_params["id"]),
                                           body.get("score"), body.get("comment"))
        return await self.respond(request, work)

    async def email(self, request: Request) -> Response:
        async def work(end_user_id: int) -> Any:
            body = await self.json_body(request)
            return await run_in_threadpool(self.desk.give_email, end_user_id, body.get("email"))
        return await self.respond(request, work)

    async def identify(self, request: Request) -> Response:
        async def work(end_user_id: int) -> Any:
            body = await self.json_body(request)
            return await run_in_threadpool(self.desk.identify, end_user_id, _identity_claim(body))
        return await self.respond(request, work)

    async def language(self, request: Request) -> Response:
        async def work(end_user_id: int) -> Any:
            body = await self.json_body(request)
            return await run_in_threadpool(self.desk.set_language, end_user_id, body.get("language"))
        return await self.respond(request, work)

    async def me(self, request: Request) -> Response:
        async def work(end_user_id: int) -> Any:
            return await run_in_threadpool(self.desk.profile, end_user_id)
        return await self.respond(request, work)

    async def resume(self, request: Request) -> Response:
        async def work(end_user_id: int | None) -> Any:
            body = await self.json_body(request)
            token = _text(body, "token")
            if not token or not looks_like_token(token):
                raise ApiError("invalid_return_link", N_("This link is not valid. Copy the whole link from the email."))
            confirm = body.get("confirm", False)
            if not isinstance(confirm, bool):
                raise ApiError("invalid_input", N_("{field} must be true or false."), field="confirm")
            return await run_in_threadpool(self.desk.resume, token, end_user_id, confirm=confirm)
        return await self.respond(request, work, token_required=False)

    async def availability(self, request: Request) -> Response:
        language = request_language(request)

        async def work(_end_user_id: None) -> Any:
            found = await run_in_threadpool(self.desk.availability)
            return {**found, "language": language,
                    "text": availability_text(language, found["team_online"], found["wait_seconds"])}
        return await self.respond(request, work, token_required=False)

    async def attach(self, request: Request) -> Response:
        """POST /api/v1/conversations/{id}/attachments: one multipart field `file`, read within the size limit."""
        async def work(end_user_id: int) -> Any:
            upload = await read_uploaded_file(request.headers.get("content-type"),
                                              request.headers.get("content-length"), request.stream(),
                                              self.desk.attachment_max_bytes)
            return await run_in_threadpool(self.desk.attach, end_user_id, public_id(request.path_params["id"]),
                                           upload.name, upload.content)
        return await self.respond(request, work, status=201)

    async def download(self, request: Request) -> Response:
        """GET /api/v1/attachments/{id}: with a signed link's ?token=, or the end user's bearer token."""
        translator = translations(request_language(request))
        attachment_id = request.path_params["id"][:64]  # a longer one matches nothing: looks missing
        link_token = request.query_params.get("token")
        try:
            address_key = f"ip:{self.client_address(request)}"
            self.check_rate(self.per_address, address_key)
            await self.check_shared_rate([(address_key, int(self.per_address.capacity))])
            if link_token is not None:
                if not looks_like_token(link_token):
                    raise ApiError("not_found", N_("This file is not available: the link is not valid or has "
                                                   "expired. Open the conversation again for a fresh link."))
                found = await run_in_threadpool(self.desk.link_download, attachment_id, link_token)
            else:
                claim = self.end_user_claim(request)
                if claim is None:  # required=True never answers None; this keeps the type checker honest
                    raise ApiError("unauthorized", N_("Send the end-user token as 'Authorization: Bearer <token>'."))
                end_user_id = await run_in_threadpool(self.desk.authenticate, claim)
                found = await run_in_threadpool(self.desk.end_user_download, end_user_id, attachment_id)
        except ApiError as error:
            return api_error_response(error, translator)
        except DatabaseBusy as busy:
            return api_error_response(database_busy_error(busy.retry_after), translator)
        except Exception:
            log.exception("widget download %s failed", request.url.path)
            return error_response("internal_error", translator.gettext("Something went wrong on our side; try again."))
        return download_response(found, inline_requested=request.query_params.get("inline") == "1")

    async def strings(self, request: Request) -> Response:
        language = request_language(request)

        async def work(_end_user_id: None) -> Any:
            return widget_strings(language)
        return await self.respond(request, work, token_required=False)

    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/conversations", self.start, methods=["POST"]),
            Route("/api/v1/conversations/{id}/messages", self.transcript, methods=["GET"]),
            Route("/api/v1/conversations/{id}/messages", self.post, methods=["POST"]),
            Route("/api/v1/conversations/{id}/read", self.mark_read, methods=["POST"]),
            Route("/api/v1/conversations/{id}/rating", self.rating, methods=["GET"]),
            Route("/api/v1/conversations/{id}/rating", self.rate, methods=["PUT"]),
            Route("/api/v1/conversations/{id}/attachments", self.attach, methods=["POST"]),
            Route("/api/v1/attachments/{id}", self.download, methods=["GET"]),
            Route("/api/v1/me", self.me, methods=["GET"]),
            Route("/api/v1/me/email", self.email, methods=["POST"]),
            Route("/api/v1/me/identify", self.identify, methods=["POST"]),
            Route("/api/v1/me/language", self.language, methods=["PUT"]),
            Route("/api/v1/return", self.resume, methods=["POST"]),
            Route("/api/v1/availability", self.availability, methods=["GET"]),
            Route("/widget/strings", self.strings, methods=["GET"]),
        ]


def _refuse_when_waiting(wait: float) -> None:
    if wait > 0:
        raise ApiError("rate_limited", N_("Too many requests; wait {seconds} seconds and try again."),
                       headers=retry_after_header(wait), seconds=max(1, round(wait)))


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError("invalid_input", N_("{field} must be text."), field=key)
    return value.strip() or None


def _identity_claim(body: dict[str, Any]) -> IdentityClaim:
    """identify()'s fields: user_id, email and expires_at (Unix seconds) signed together, and an optional name."""
    user_id, email, signature = _text(body, "user_id"), _text(body, "email"), _text(body, "signature")
    expires_at = body.get("expires_at")
    if not user_id or not email or not signature or isinstance(expires_at, bool) or not isinstance(expires_at, int):
        raise ApiError("invalid_signature", N_("identify() needs user_id, email, expires_at (Unix seconds) and the "
                                               "signature computed by the website's server."))
    if len(user_id) > 255 or not 0 < expires_at < 2**40:
        raise ApiError("invalid_input", N_("{field} is out of range."), field="user_id/expires_at")
    return IdentityClaim(user_id=user_id, email=email, expires_at=expires_at, signature=signature,
                         name=_text(body, "name"))

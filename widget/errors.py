"""API errors with a stable code: raised by routes, rendered as {"error": {"code": ..., "message": ...}}."""
from __future__ import annotations

import math
from typing import Any

from babel.support import NullTranslations
from starlette.responses import JSONResponse

from core.i18n import N_, Translatable

# Every code the widget API can answer with; clients may rely on these names.
ERROR_CODES = {
    "invalid_json": 400,
    "invalid_input": 400,
    "unauthorized": 401,
    "invalid_return_link": 401,
    "blocked": 403,
    "origin_not_allowed": 403,
    "invalid_signature": 403,
    "identity_expired": 403,
    "identify_used": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "session_conflict": 409,
    "not_solved": 409,
    "invalid_transition": 409,
    "return_link_used": 410,
    "return_link_expired": 410,
    "message_too_large": 413,
    "request_too_large": 413,
    "attachment_too_large": 413,
    "attachment_type_not_allowed": 415,
    "invalid_email": 422,
    "rate_limited": 429,
    "internal_error": 500,
    "database_busy": 503,
}


class ApiError(Exception):
    """A refusal to show the client: code from ERROR_CODES and a message a person can act on.

    The message is a source string (marked with N_) translated into the reader's language when the response is
    made, then formatted with `fields`; pass translated=True for text that is already final (core's errors).
    """

    def __init__(self, code: str, message: str, *, headers: dict[str, str] | None = None,
                 translated: bool = False, **fields: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields
        self.translated = translated
        self.status = ERROR_CODES[code]
        self.headers = headers or {}

    def text(self, translator: NullTranslations) -> str:
        if self.translated:  # core's text, made in the process's language: again in the end user's, when it can
            message = self.message.translated_with(translator) if isinstance(self.message, Translatable) \
                else self.message
        else:
            message = translator.gettext(self.message)
        return message.format(**self.fields) if self.fields else message


def error_response(code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=ERROR_CODES[code],
                        headers={"Cache-Control": "no-store", **(headers or {})})


def api_error_response(error: ApiError, translator: NullTranslations) -> JSONResponse:
    return error_response(error.code, error.text(translator), error.headers)


def database_busy_error(retry_after: float) -> ApiError:
    """503 database_busy: the write waited its database.write_timeout and changed nothing; the client may retry."""
    seconds = max(1, math.ceil(retry_after))
    return ApiError("database_busy", N_("We could not save this just now because the desk is busy; nothing was "
                                        "changed. Try again in {seconds} seconds."),
                    headers={"Retry-After": str(seconds)}, seconds=seconds)

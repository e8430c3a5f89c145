"""Write slots: only a few worker threads at a time wait for the database's write lock; other writes queue without
one."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from core.db import database_busy, write_deadline
from core.i18n import translations
from widget.api import request_language
from widget.errors import api_error_response, database_busy_error

# Threads waiting for another process's write lock would otherwise fill Starlette's thread pool (40), and then
# reads and static files would wait too. SQLite lets one writer in at a time, so a few waiting threads suffice.
WRITE_SLOTS = 8
_WRITING_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# POSTs that only read (none now: trading a return link for a token records the link as used).
_READING_POSTS: set[str] = set()


class WriteSlots:
    """A bounded number of concurrent writes; a write waits database.write_timeout at most, slot and lock together."""

    def __init__(self, timeout: float, slots: int = WRITE_SLOTS) -> None:
        self.timeout = timeout
        self._slots = anyio.Semaphore(slots)

    async def acquire(self) -> float | None:
        """Take a slot; returns the monotonic deadline for the write lock, or None when no slot freed in time."""
        deadline = time.monotonic() + self.timeout
        with anyio.move_on_after(self.timeout):
            await self._slots.acquire()
            return deadline
        return None

    def release(self) -> None:
        self._slots.release()

    async def run(self, call: Callable[..., Any], *args: Any) -> Any:
        """call(*args) in a worker thread holding a slot; raises DatabaseBusy when none frees within the timeout."""
        deadline = await self.acquire()
        if deadline is None:
            raise database_busy(self.timeout)
        try:
            with write_deadline(deadline):
                return await run_in_threadpool(call, *args)
        finally:
            self.release()


class WriteSlotsMiddleware:
    """Each API request that writes holds a slot, so a held write lock never takes the threads reads need."""

    def __init__(self, app: ASGIApp, slots: WriteSlots) -> None:
        self.app = app
        self.slots = slots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _writes(scope):
            await self.app(scope, receive, send)
            return
        deadline = await self.slots.acquire()
        if deadline is None:
            translator = translations(request_language(Request(scope)))
            await api_error_response(database_busy_error(self.slots.timeout), translator)(scope, receive, send)
            return
        try:
            with write_deadline(deadline):
                await self.app(scope, receive, send)
        finally:
            self.slots.release()


def _writes(scope: Scope) -> bool:
    return (scope["type"] == "http" and scope["method"] in _WRITING_METHODS and scope["path"].startswith("/api/")
            and scope["path"] not in _READING_POSTS)

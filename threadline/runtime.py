"""The long-running processes of `serve` and `demo`: widget server, scheduler, sender and poller as asyncio tasks."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import uvicorn
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from core.event_push import EventPush
from core.events import wakeup
from threadline.context import AppContext

log = logging.getLogger(__name__)

# How long in-flight HTTP requests and WebSockets get to finish once shutdown starts.
GRACEFUL_HTTP_SECONDS = 5  # whole seconds: uvicorn's setting is an int


class Worker(Protocol):
    """What the runtime runs beside the web server: run() until stop() (which returns once work in hand is recorded)."""

    async def run(self) -> None: ...

    async def stop(self) -> None: ...


class _OwnSignalsServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the runtime decides when and in which order everything stops."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Runtime:
    """Runs the widget app (with /healthz) and the workers until stop() or SIGTERM/SIGINT; run() returns 0 on a clean
    stop."""

    context: AppContext
    app: Starlette | None = None
    workers: dict[str, Worker] = field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port (read .port once started)
    routes: list[BaseRoute] = field(default_factory=list)  # added to the app beside /healthz (the demo mailbox)
    on_started: Callable[[Runtime], Awaitable[None] | None] | None = None
    _server: _OwnSignalsServer | None = None
    _tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    _stopping: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _failed: list[str] = field(default_factory=list)
    # One LISTEN connection for the whole process on PostgreSQL (the widget feed and the scheduler share it).
    push: EventPush | None = None

    # --- health --------------------------------------------------------------------------------------
    def _database_ok(self) -> bool:
        try:
            with self.context.db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except Exception as exc:  # noqa: BLE001 - any driver error means "not reachable" to a health probe
            log.warning("health check: database unreachable: %s", exc)
            return False

    async def health(self) -> tuple[bool, dict[str, Any]]:
        database = await asyncio.to_thread(self._database_ok)
        workers = {name: ("alive" if name in self._tasks and not self._tasks[name].done() else "stopped")
                   for name in self.workers}
        ok = database and all(state == "alive" for state in workers.values())
        problems = self.context.db.health.problems()
        # Degraded still answers 200: the process serves, but something needs an operator (sender paused, ...).
        status = ("degraded" if problems else "ok") if ok else "failing"
        body = {"status": status, "database": "ok" if database else "unreachable", "workers": workers,
                "problems": problems, "event_push": self.push.state() if self.push is not None else "off"}
        for worker in self.workers.values():
            describe = getattr(worker, "health_facts", None)
            if callable(describe):
                body.update(describe())
        return ok, body

    async def _healthz(self, request: Request) -> Response:
        ok, body = await self.health()
        return JSONResponse(body, status_code=200 if ok else 503, headers={"Cache-Control": "no-store"})

    def health_routes(self) -> list[BaseRoute]:
        return [Route("/healthz", self._healthz, methods=["GET"])]

    # --- running -------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def _start_web(self) -> None:
        if self.app is None:
            raise RuntimeError("the widget server was started without an app")
        # First in the route list, so the widget's catch-all handlers never see it.
        self.app.router.routes[0:0] = [*self.health_routes(), *self.routes]
        config = uvicorn.Config(self.app, host=self.host, port=self.port, log_config=None, access_log=False,
                                lifespan="on", timeout_graceful_shutdown=GRACEFUL_HTTP_SECONDS, ws="auto",
                                # Chat frames are a few hundred bytes; per-message deflate saves little on them
                                # but keeps a zlib state per socket (about half of a socket's memory).
                                ws_per_message_deflate=False,
                                # The widget app reads X-Forwarded-For itself (widget.trusted_proxies).
                                proxy_headers=False)
        self._server = _OwnSignalsServer(config)
        self._tasks["web"] = asyncio.create_task(self._server.serve(), name="web")
        while not self._server.started:
            if self._tasks["web"].done():
                self._tasks["web"].result()  # raises the bind error
                raise RuntimeError("the web server stopped while starting")
            await asyncio.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        log.info("web server listening", extra={"url": self.url})

    def _watch(self, name: str, task: asyncio.Task[None]) -> None:
        def done(finished: asyncio.Task[None]) -> None:
            if finished.cancelled() or self._stopping is None or self._stopping.is_set():
                return
            error = finished.exception()
            log.error("worker stopped unexpectedly", extra={"worker": name, "error": repr(error)})
            self._failed.append(name)
            self._stopping.set()

        task.add_done_callback(done)

    def stop(self) -> None:
        """Begin a graceful shutdown (safe to call from a signal handler on the loop)."""
        if self._stopping is not None and not self._stopping.is_set():
            log.info("shutdown requested")
            self._stopping.set()

    def stop_threadsafe(self) -> None:
        """stop() from another thread (the demo's console runs in the main thread, the runtime beside it)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.stop)

    async def run(self) -> int:
        self._stopping = asyncio.Event()
        loop = self._loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self.stop)
        self.push = EventPush(self.context.db.engine, wakeup)
        self.push.start()
        try:
            if self.app is not None:
                await self._start_web()
                self._watch("web", self._tasks["web"])
            for name, worker in self.workers.items():
                self._tasks[name] = asyncio.create_task(worker.run(), name=name)
                self._watch(name, self._tasks[name])
            log.info("started", extra={"workers": ",".join(self.workers) or "-"})
            if self.on_started is not None:
                result = self.on_started(self)
                if asyncio.iscoroutine(result):
                    await result
            await self._stopping.wait()
        finally:
            await self._shutdown()
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.remove_signal_handler(sig)
        if self._failed:
            log.error("stopped after a failure", extra={"workers": ",".join(self._failed)})
            return 1
        log.info("stopped cleanly")
        return 0

    async def _shutdown(self) -> None:
        """Stop accepting first, then let each worker finish and record the work in hand."""
        started = time.monotonic()
        if self._server is not None:
            self._server.should_exit = True
        for name, worker in self.workers.items():
            try:
                await worker.stop()
            except Exception:
                log.exception("worker failed to stop cleanly", extra={"worker": name})
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self.push is not None:
            await asyncio.to_thread(self.push.stop)
        log.info("shutdown finished", extra={"seconds": round(time.monotonic() - started, 2)})


__all__ = ["Runtime", "Worker"]

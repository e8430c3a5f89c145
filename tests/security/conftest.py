"""Fixtures for attacks from outside: the real widget server wiring (threadline.runtime) on a real socket, and
clients."""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect, text

from core.config import Config
from core.db import Database
from core.tokens import TokenSigner
from threadline.context import AppContext
from threadline.runtime import Runtime
from widget.app import create_app

SECRET = "security-test-secret-0123456789"


class ServerInThread:
    """The widget app served by threadline.runtime.Runtime (uvicorn, /healthz, as `serve` runs it) on its own loop."""

    def __init__(self, config: Config, db: Database, clock: Any) -> None:
        context = AppContext(config, clock=clock)
        context.__dict__["db"] = db  # share the test's database instead of opening config.database_url again
        app = create_app(config, db, clock, TokenSigner(config.secret()), poll_interval=0.02)
        self.runtime = Runtime(context, app=app, workers={}, host="127.0.0.1", port=0)
        self.app = app
        self._started = threading.Event()
        self._result: list[Any] = []
        self.runtime.on_started = lambda _runtime: self._started.set()
        self._thread = threading.Thread(target=self._run, name="security-test-server", daemon=True)

    def _run(self) -> None:
        try:
            self._result.append(asyncio.run(self.runtime.run()))
        except BaseException as exc:  # noqa: BLE001 - surfaced by __enter__/__exit__ in the test's thread
            self._result.append(exc)
            self._started.set()

    def __enter__(self) -> ServerInThread:
        self._thread.start()
        assert self._started.wait(30), "the widget server did not start"
        if self._result and isinstance(self._result[0], BaseException):
            raise self._result[0]
        return self

    def __exit__(self, *exc: object) -> None:
        self.runtime.stop_threadsafe()
        self._thread.join(30)

    @property
    def url(self) -> str:
        return self.runtime.url

    @property
    def ws_url(self) -> str:
        return self.runtime.url.replace("http://", "ws://", 1)


@pytest.fixture
def server_config(database_url: str) -> Config:
    config = Config()
    config.general.secret = SECRET
    config.database.url = database_url
    config.widget.public_url = "https://support.example.com"
    config.widget.allowed_origins = ["https://shop.example"]
    config.widget.rate_limit_per_minute = 100_000
    config.widget.rate_limit_per_minute_per_address = 100_000
    config.widget.max_message_chars = 500
    return config


@pytest.fixture
def make_server(server_config: Config, db: Database, clock):
    """Starts the widget server over the test database; change server_config before calling."""
    servers: list[ServerInThread] = []

    def make() -> ServerInThread:
        server = ServerInThread(server_config, db, clock).__enter__()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.__exit__(None, None, None)


@pytest.fixture
def server(make_server) -> ServerInThread:
    return make_server()


@pytest.fixture
def http(server: ServerInThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def start_conversation(http: httpx.Client, **body: Any) -> dict[str, Any]:
    response = http.post("/api/v1/conversations", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def dump_tables(db: Database, skip: frozenset[str] = frozenset()) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order: compared before and after a refused request."""
    with db.engine.connect() as connection:
        names = sorted(n for n in inspect(connection).get_table_names() if n not in skip)
        return {name: sorted(map(repr, connection.execute(text(f'SELECT * FROM "{name}"')).all()))  # noqa: S608 - names from the schema
                for name in names}

"""Push for the event log on PostgreSQL: one LISTEN connection per process wakes its followers when others commit."""
from __future__ import annotations

import logging
import random as _random
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine

from core.events import PUSH_CHANNEL, TYPING_PAYLOAD, Wakeup
from core.outbox import backoff_delay

log = logging.getLogger(__name__)

# How often the listening thread looks up from the socket (to notice stop()); it sends nothing to the server then.
_TICK_SECONDS = 0.5
# TCP keepalive on the LISTEN connection, so a silently dead link (no FIN, no error) is noticed in about 11 s.
_KEEPALIVE = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3}


class EventPush:
    """Holds one LISTEN connection (outside the pool) in a thread and nudges `wakeup` on every notification.

    Writers NOTIFY in the transaction that records events (core.events), so a notification means "events up to
    this id are committed". While the connection is up the Wakeup is marked pushed and followers (the widget
    feed, the console, the scheduler) only poll every SAFETY_POLL_SECONDS; when it drops they poll at their own
    fast pace again, and the thread reconnects with a growing, jittered wait. Each (re)connect nudges once, so
    whatever was committed while nobody listened is read at once. On SQLite start() does nothing: the process
    has its in-process wake-up and its polling.
    """

    def __init__(self, engine: Engine, wakeup: Wakeup, *, backoff_base: float = 0.2, backoff_cap: float = 10.0,
                 random: Callable[[], float] = _random.random) -> None:
        self.engine = engine
        self.wakeup = wakeup
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.random = random
        self.notifications = 0  # notifications received, for /healthz, tests and benches
        self.typing_notifications = 0
        self.connects = 0
        self.latest_id = 0  # the newest event id a notification named
        self.backend_pid: int | None = None  # the LISTEN connection's server process (pg_terminate_backend in tests)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection: Any = None
        self._listening = threading.Event()

    @property
    def enabled(self) -> bool:
        """Whether this database can push (PostgreSQL); SQLite has nobody to LISTEN to."""
        return self.engine.dialect.name == "postgresql"

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    def state(self) -> str:
        """For /healthz: listening, reconnecting, or off (SQLite, or not started)."""
        if not self.enabled or self._thread is None:
            return "off"
        return "listening" if self.listening else "reconnecting"

    def start(self) -> None:
        if not self.enabled or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="threadline-event-push", daemon=True)
        self._thread.start()

    def wait_listening(self, timeout: float) -> bool:
        """Block until the LISTEN is in place (tests and benches start measuring only then)."""
        return self._listening.wait(timeout)

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(5)
        self._thread = None

    # --- the thread ----------------------------------------------------------------------------------------
    def _connect(self) -> Any:
        """A psycopg connection of its own (never a pooled one: it is held for the life of the process)."""
        cargs, cparams = self.engine.dialect.create_connect_args(self.engine.url)
        params = {**cparams, **_KEEPALIVE}
        connection = self.engine.dialect.loaded_dbapi.connect(*cargs, **params)
        connection.autocommit = True
        connection.execute(f"LISTEN {PUSH_CHANNEL}")
        return connection

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self._connection = self._connect()
            except Exception as exc:  # noqa: BLE001 - any driver error: the database is away, try again later
                failures += 1
                delay = backoff_delay(min(failures, 32), self.random, self.backoff_base, self.backoff_cap)
                log.warning("event push: cannot LISTEN (%s); followers poll; retrying in %.1f s", exc, delay)
                self._stop.wait(delay)
                continue
            failures = 0
            self.connects += 1
            self.backend_pid = self._connection.info.backend_pid
            self._set_listening(True)
            if self.connects > 1:
                log.info("event push: listening again")
            self.wakeup.notify()  # read what was committed while nobody listened
            self.wakeup.notify_typing()
            try:
                self._listen()
            except Exception as exc:  # noqa: BLE001 - a dropped connection, a restarted server: reconnect
                if not self._stop.is_set():
                    log.warning("event push: LISTEN connection lost (%s); followers poll until it is back", exc)
            finally:
                self._set_listening(False)
                self._close()

    def _listen(self) -> None:
        connection = self._connection
        while not self._stop.is_set():
            # Each notification nudges at once; followers coalesce the nudges into one read of the log.
            for notification in connection.notifies(timeout=_TICK_SECONDS):
                if notification.payload == TYPING_PAYLOAD:
                    self.typing_notifications += 1
                    self.wakeup.notify_typing()
                    continue
                try:
                    newest = int(notification.payload)
                except ValueError:
                    log.warning("event push: ignored a notification that carries no event id")
                    continue
                if newest > self.latest_id:
                    self.latest_id = newest
                    self.notifications += 1
                    self.wakeup.notify()
            if connection.closed:
                raise ConnectionError("the LISTEN connection closed")

    def _set_listening(self, listening: bool) -> None:
        self.wakeup.pushed = listening
        if listening:
            self._listening.set()
        else:
            self._listening.clear()

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # noqa: BLE001, S110 - it is gone either way
                pass

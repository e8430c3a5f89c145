"""Process-local health facts: what is degraded right now and why, reported by workers, read by /healthz."""
from __future__ import annotations

import threading


class HealthBoard:
    """Each source (a worker, the database) reports a problem or clears it; thread-safe, no I/O."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._problems: dict[str, str] = {}

    def degrade(self, source: str, reason: str) -> bool:
        """Record that source is degraded; True when this is news (so callers can alert once)."""
        with self._lock:
            news = self._problems.get(source) != reason
            self._problems[source] = reason
            return news

    def recover(self, source: str) -> bool:
        """Clear source's problem; True when there was one."""
        with self._lock:
            return self._problems.pop(source, None) is not None

    def problems(self) -> dict[str, str]:
        with self._lock:
            return dict(self._problems)

"""The asyncio event loop `serve` runs on: uvloop where installed (uvicorn[standard] brings it), else asyncio's own."""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
# Measured with 5,000 widget sockets on one process (bench/websocket_capacity.py): asyncio's selector loop spent
# most of the main thread's time in socket reads, writes and selector bookkeeping, which uvloop does in C.
LOOP_FACTORY: Callable[[], asyncio.AbstractEventLoop] | None
try:
    from uvloop import new_event_loop as LOOP_FACTORY
except ImportError:  # no wheel for Windows or PyPy: asyncio's loop works there, only with more CPU per socket
    LOOP_FACTORY = None


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on the fastest loop available."""
    with asyncio.Runner(loop_factory=LOOP_FACTORY) as runner:
        return runner.run(main)

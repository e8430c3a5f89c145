"""One short transaction per service call: commit on success, roll back on any error, then wake followers."""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

from core.events import wakeup

F = TypeVar("F", bound=Callable[..., Any])


def transactional(method: F) -> F:
    """Run a service method in its own transaction; a nested call joins the outer one."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        session = self.session
        depth = session.info.get("threadline_depth", 0)
        session.info["threadline_depth"] = depth + 1
        try:
            result = method(self, *args, **kwargs)
            if depth == 0:
                session.commit()
        except BaseException:
            if depth == 0:
                session.rollback()
            raise
        finally:
            session.info["threadline_depth"] = depth
        if depth == 0:
            wakeup.notify()
        return result

    return wrapper  # type: ignore[return-value]

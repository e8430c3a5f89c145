"""One short transaction per service call: dispatch its reactions, commit on success, roll back on any error, wake
followers when it recorded events."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from sqlmodel import Session

from core.dispatcher import dispatch
from core.domain_events import discard_events
from core.events import changed_typing, recorded_events, wakeup


class HasSession(Protocol):
    session: Session


F = TypeVar("F", bound=Callable[..., Any])


def transactional(method: F) -> F:
    """Run a service method in its own transaction; a nested call joins the outer one.

    The outermost call dispatches the reactions to the domain events the transaction raised, then commits.
    """

    @functools.wraps(method)
    def wrapper(self: HasSession, *args: Any, **kwargs: Any) -> Any:
        session = self.session
        depth = session.info.get("threadline_depth", 0)
        session.info["threadline_depth"] = depth + 1
        news = typing = False
        try:
            result = method(self, *args, **kwargs)
            if depth == 0:
                dispatch(session)
                news = recorded_events(session)
                typing = changed_typing(session)
                session.commit()
        except BaseException:
            if depth == 0:
                discard_events(session)
                session.rollback()
            raise
        finally:
            session.info["threadline_depth"] = depth
        # Only a commit that recorded events is news: waking followers after every read-only or empty transaction
        # made the scheduler wake itself with its own claim, and claim again, hundreds of times a second.
        if news:
            wakeup.notify()
        if typing:
            wakeup.notify_typing()
        return result

    return wrapper  # type: ignore[return-value]  # the wrapper keeps method's signature (functools.wraps)

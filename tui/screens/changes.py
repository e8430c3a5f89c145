"""What every console screen shares for changing data: a worker thread per change, the outcome told to the agent."""
from __future__ import annotations

from typing import Any, Callable

from textual import work

from core.errors import ThreadlineError
from tui.i18n import error_text
from tui.messages import ActionDone


class ChangesInWorkers:
    """Mixin for screens: `_change` runs a core call off the UI thread and posts ActionDone with the outcome."""

    @work(thread=True, group="screen-change", exit_on_error=False)
    def _change(self, kind: str, change: Callable[[Any], Any], done: str = "") -> None:
        try:
            with self.app.context.db.session() as session:  # type: ignore[attr-defined]
                change(session)
        except ThreadlineError as exc:
            self.post_message(ActionDone(kind, error_text(exc), error=True))  # type: ignore[attr-defined]
            return
        self.post_message(ActionDone(kind, done))  # type: ignore[attr-defined]

    def _tell_outcome(self, message: ActionDone) -> None:
        """Stop the message here and show its text (people's text inside stays literal: markup off)."""
        message.stop()
        if message.message:
            self.notify(message.message, severity="error" if message.error else "information", markup=False)  # type: ignore[attr-defined]

"""How console screens run database work off the UI thread: a change per worker, a worker's failure reported up."""
from __future__ import annotations

from collections.abc import Callable
from typing import cast

from sqlmodel import Session
from textual.dom import DOMNode
from textual.widget import Widget
from textual.worker import Worker, WorkerState

from tui.console_context import ConsoleContext
from tui.messages import ChangeDone, WorkFailed


class ReportsWorkerFailures:
    """Mixin for screens: a worker that raised is reported to the app (WorkFailed bubbles up), then work_failed().

    Worker.StateChanged does not bubble, so each screen passes its own workers' failures on; the app's one
    handler tells the agent and logs them. Workers therefore let exceptions out instead of catching them.
    """

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            cast(DOMNode, self).post_message(WorkFailed(worker.name, worker.error))
            self.work_failed(worker.name, worker.error)

    def work_failed(self, worker_name: str, error: BaseException) -> None:
        """Put the screen back where the agent can go on (nothing left busy) after worker_name raised error."""


class ChangesInWorkers(ReportsWorkerFailures):
    """Mixin for screens: `_change` runs a core call in one transaction off the UI thread, then posts `done`."""

    context: ConsoleContext

    def _change(self, change: Callable[[Session], object], done: ChangeDone) -> None:
        db, node = self.context.db, cast(DOMNode, self)

        def run() -> None:
            with db.session() as session:
                change(session)
            node.post_message(done)

        node.run_worker(run, name=type(done).__name__, group="screen-change", thread=True, exit_on_error=False)


def show_change_done(screen: Widget, message: ChangeDone) -> None:
    """A change committed: its message stops at this screen and its notice shows as plain text (it may quote what
    people wrote, so never as markup)."""
    message.stop()
    if message.notice:
        screen.notify(message.notice, markup=False)

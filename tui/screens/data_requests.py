"""The conversation screen's data-protection actions for admins: export (E) and erase (X) the end user's data."""
from __future__ import annotations

import json
from pathlib import Path
from typing import cast

from textual.screen import Screen

from core.data_requests import DataRequestService
from core.labels import end_user_label
from tui.export_files import save_export
from tui.i18n import _
from tui.messages import EndUserErased, EndUserExported
from tui.screens.erase import EraseScreen
from tui.screens.workers import ChangesInWorkers
from tui.text import local_date
from tui.transcript import ConversationView

DATA_REQUEST_ACTIONS = frozenset({"export_end_user", "erase_end_user"})


class DataRequestActions(ChangesInWorkers):
    """Mixin for ConversationScreen: both actions read and write in workers; only admins are offered them."""

    conversation_id: int
    shown: ConversationView | None

    def data_requests_apply(self) -> bool:
        return self.context.agent.is_admin

    def _admin_or_told(self) -> bool:
        # check_action hides both actions from other agents; this guards a direct call as well.
        if self.data_requests_apply():
            return True
        cast(Screen[object], self).notify(_("Only admins can export or erase an end user's data."),
                                          severity="warning")
        return False

    def action_export_end_user(self) -> None:
        view = self.shown
        if not self._admin_or_told() or view is None or view.end_user.id is None:
            return
        node = cast(Screen[object], self)
        db, clock, by = self.context.db, self.context.clock, self.context.agent.handle
        end_user_id, public_id = view.end_user.id, view.end_user.public_id

        def run() -> None:
            with db.read_session() as session:  # one consistent read; writers are not held up meanwhile
                document = DataRequestService(session, clock).export(end_user_id)
            text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
            path = save_export(Path.home() / "Downloads", public_id, local_date(clock.now()), text)
            with db.session() as session:  # recorded once the file exists: the audit names real exports only
                DataRequestService(session, clock).record_export(end_user_id, by)
            node.post_message(EndUserExported(end_user_id, str(path)))

        node.run_worker(run, name="end-user-export", group="data-request", thread=True, exit_on_error=False)

    # A named handler, not @on: Textual collects @on handlers only from classes it builds (not from this mixin).
    def on_end_user_exported(self, message: EndUserExported) -> None:
        message.stop()
        cast(Screen[object], self).notify(
            _("Exported everything held about the end user to {path} (only you can read it).").format(
                path=message.path), markup=False)

    def action_erase_end_user(self) -> None:
        view = self.shown
        if not self._admin_or_told() or view is None or view.end_user.id is None:
            return
        node = cast(Screen[object], self)
        db, clock, by = self.context.db, self.context.clock, self.context.agent.handle
        end_user_id = view.end_user.id

        def erase() -> None:
            with db.session() as session:
                summary = DataRequestService(session, clock).erase(end_user_id, by)
            node.post_message(EndUserErased(summary))  # a ChangeDone: the screen tells the counts and reads again

        def confirmed(yes: bool | None) -> None:
            if yes:
                node.run_worker(erase, name="end-user-erase", group="screen-change", thread=True,
                                exit_on_error=False)

        node.app.push_screen(EraseScreen(end_user_label(view.end_user, _)), confirmed)

"""Core errors reach each reader in their own language: the console in the agent's, the widget in the end user's,
the command line in the process's (issue 14 #12). Core raises them in the process's language (English here)."""
from __future__ import annotations

import pytest

from core.agents import AgentService
from core.conversations import ConversationService
from core.errors import InvalidTransition
from core.i18n import _
from tests.core.test_cli_and_schema import run_cli
from tests.tui.helpers import rows_loaded, wait_for


@pytest.fixture(autouse=True)
def english_process(monkeypatch):
    monkeypatch.setenv("THREADLINE_LANGUAGE", "en")


def test_a_core_error_keeps_its_msgid_and_fields():
    error = InvalidTransition(_("The conversation is assigned to {name} already.").format(name="Greta"))
    assert error.message == "The conversation is assigned to Greta already."
    assert error.in_language("de") == "Die Unterhaltung ist bereits Greta zugewiesen."
    assert error.in_language("xx") == error.message  # no catalog: the English source


async def test_a_german_agent_sees_a_core_error_in_german(desk, make_console):
    with desk.db.session() as session:
        greta = AgentService(session, desk.clock).add("greta", "Greta Agent", language="de")
        greta_id = greta.id
    conversation_id = desk.conversations["alex"]
    with desk.db.session() as session:
        ConversationService(session, desk.clock).assign(conversation_id, greta_id)
    with pytest.raises(InvalidTransition) as refused:  # core refuses in the process's language (English)
        with desk.db.session() as session:
            ConversationService(session, desk.clock).assign(conversation_id, greta_id)
    assert "already" in refused.value.message
    app = make_console("greta")
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: rows_loaded(app), what="queue rows")
        # The console's key bar no longer offers "assign" twice, so the refusal reaches the one handler every
        # failed worker reports to, as it would from another agent's race.
        app.report_failure("conversation-change", refused.value)
        expected = "Die Unterhaltung ist bereits Greta Agent zugewiesen."
        await wait_for(pilot, lambda: any(str(n.message) == expected for n in app._notifications),
                       what="the refusal in German")
        assert not any("already" in str(n.message) for n in app._notifications)


def test_the_command_line_speaks_the_process_language(tmp_path):
    assert run_cli("init", data_dir=tmp_path).returncode == 0
    assert run_cli("agent", "add", "bob", "--name", "Bob", data_dir=tmp_path).returncode == 0
    again = run_cli("agent", "add", "bob", "--name", "Bob", data_dir=tmp_path,
                    extra_env={"THREADLINE_LANGUAGE": "de"})
    assert again.returncode == 1
    assert again.stderr.strip() == "threadline: Fehler: Es gibt bereits einen Agenten mit dem Kürzel 'bob'.", \
        again.stderr

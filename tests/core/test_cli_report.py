"""`threadline report`: the same figures as JSON, CSV and text; a bad period is one line."""
from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from core.agents import AgentService
from core.clock import FixedClock
from core.conversations import ConversationService
from core.db import Database
from tests.core.test_cli_and_schema import run_cli
from tests.core.test_cli_errors import assert_one_line


def _seed(data_dir) -> None:
    """Two days ago (the command reads at the real time): one conversation answered after 10 minutes, one not."""
    clock = FixedClock(datetime.now(UTC) - timedelta(days=2))
    db = Database(f"sqlite:///{data_dir / 'threadline.db'}")
    try:
        with db.session() as session:
            agent = AgentService(session, clock).add("bo", "Bo")
            service = ConversationService(session, clock)
            for name, answer in (("Ann", True), ("Ben", False)):
                end_user = service.create_end_user(name, None, "en")
                conversation = service.start_conversation(end_user.id)
                service.post_end_user_message(conversation.id, "Hello?")
                if answer:
                    clock.advance(timedelta(minutes=10))
                    service.post_agent_message(conversation.id, agent.id, "Hi!")
    finally:
        db.dispose()


def test_json_csv_and_text_carry_the_same_figures(tmp_path):
    assert run_cli("init", data_dir=tmp_path).returncode == 0
    _seed(tmp_path)
    as_json = run_cli("report", "--since", "7d", "--format", "json", data_dir=tmp_path)
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert data["conversations_started"] == 2 and data["unanswered"] == 1
    assert data["first_response_seconds"] == {"count": 1, "median": 600.0, "p90": 600.0}
    assert data["end_user_replies"] == {"email": 0, "messaging": 2} and sum(data["busiest_hours"]) == 2

    as_csv = run_cli("report", "--since", "7d", "--format", "csv", data_dir=tmp_path)
    rows = dict(csv.reader(io.StringIO(as_csv.stdout)))
    assert rows["metric"] == "value" and rows["first_response_seconds.median"] == "600.0"
    assert rows["conversations_started"] == "2"

    text = run_cli("report", data_dir=tmp_path).stdout
    assert "Conversations started: 2 (1 not answered yet)" in text and "median 10 min" in text

    assert json.loads(run_cli("report", "--since", "today", "--format", "json", data_dir=tmp_path).stdout)[
        "conversations_started"] == 0


def test_a_bad_period_is_one_line(tmp_path):
    assert run_cli("init", data_dir=tmp_path).returncode == 0
    assert_one_line(run_cli("report", "--since", "week", data_dir=tmp_path), "'week'", "7d")

"""`threadline agent add`: the language must have a catalog, the time zone must be an IANA name; both are stored."""
from __future__ import annotations

from sqlmodel import select

from core.db import Database
from core.models import Agent
from tests.core.test_cli_and_schema import run_cli
from tests.core.test_cli_errors import assert_one_line

SHIPPED = ("ar", "de", "en", "es", "fr", "ja", "pl", "pt_BR")


def _agents(data_dir):
    db = Database(f"sqlite:///{data_dir / 'threadline.db'}")
    try:
        with db.read_session() as session:
            return {agent.handle: agent for agent in session.exec(select(Agent))}
    finally:
        db.dispose()


def test_unknown_language_is_refused_with_the_list(tmp_path):
    assert run_cli("init", data_dir=tmp_path).returncode == 0
    line = assert_one_line(run_cli("agent", "add", "bob", "--name", "Bob", "--language", "xx", data_dir=tmp_path),
                           "'xx'")
    for language in SHIPPED:
        assert language in line
    assert _agents(tmp_path) == {}


def test_unknown_time_zone_is_refused(tmp_path):
    assert run_cli("init", data_dir=tmp_path).returncode == 0
    assert_one_line(run_cli("agent", "add", "bob", "--name", "Bob", "--timezone", "Mars/Olympus", data_dir=tmp_path),
                    "'Mars/Olympus'", "Europe/Berlin")
    assert _agents(tmp_path) == {}


def test_language_and_time_zone_are_stored_and_the_zone_defaults_to_the_machines(tmp_path):
    assert run_cli("init", data_dir=tmp_path).returncode == 0
    added = run_cli("agent", "add", "ana", "--name", "Ana", "--language", "pt_BR", "--timezone", "America/Sao_Paulo",
                    data_dir=tmp_path)
    assert added.returncode == 0, added.stderr
    machine = run_cli("agent", "add", "ken", "--name", "Ken", data_dir=tmp_path, extra_env={"TZ": "Asia/Tokyo"})
    assert machine.returncode == 0, machine.stderr
    agents = _agents(tmp_path)
    assert (agents["ana"].language, agents["ana"].timezone) == ("pt_BR", "America/Sao_Paulo")
    assert agents["ken"].timezone == "Asia/Tokyo"
    listing = run_cli("agent", "list", data_dir=tmp_path).stdout
    assert "America/Sao_Paulo" in listing and "Asia/Tokyo" in listing

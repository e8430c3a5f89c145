"""`threadline agent add/list` and `threadline console`'s agent lookup, through the real command line."""
from __future__ import annotations

import pytest

from core.clock import FixedClock
from core.errors import NotFound
from threadline.cli import main
from tui.app import build_app, resolve_agent


@pytest.fixture
def cli_env(monkeypatch, tmp_path):
    monkeypatch.setenv("THREADLINE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("THREADLINE_GENERAL_DATA_DIR", str(tmp_path))
    (tmp_path / "threadline.toml").write_text("")
    monkeypatch.setenv("THREADLINE_CONFIG", str(tmp_path / "threadline.toml"))
    assert main(["init"]) == 0
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_agent_add_and_list(cli_env, capsys):
    assert main(["agent", "add", "sam", "--name", "Sam Agent", "--admin", "--os-user", "sam-os"]) == 0
    assert main(["agent", "add", "sam", "--name", "Again"]) == 1
    assert "exists already" in capsys.readouterr().err
    assert main(["agent", "list"]) == 0
    out = capsys.readouterr().out
    assert "sam" in out and "Sam Agent" in out and "sam-os" in out


def test_console_agent_from_os_user_or_a_clear_error(cli_env, db):
    from core.db import Database

    main(["agent", "add", "sam", "--name", "Sam Agent", "--os-user", "sam-os"])
    database = Database(cli_env)
    clock = FixedClock()
    try:
        assert resolve_agent(database, clock, os_user="sam-os").handle == "sam"
        assert resolve_agent(database, clock, handle="sam", os_user="nobody").handle == "sam"
        with pytest.raises(NotFound, match="threadline agent add"):
            resolve_agent(database, clock, os_user="nobody")
        assert build_app(database, os_user="sam-os", clock=clock).agent.handle == "sam"
    finally:
        database.dispose()


def test_console_command_without_agent_exits_with_the_fix(cli_env, capsys, monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "stranger")
    assert main(["console"]) == 1
    err = capsys.readouterr().err
    assert "stranger" in err and "threadline agent add" in err

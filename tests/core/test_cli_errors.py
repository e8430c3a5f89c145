"""Every command-line error is one line naming the problem and the fix; the traceback only with -v."""
from __future__ import annotations

import socket
import textwrap

import pytest

from tests.core.test_cli_and_schema import run_cli


def _free_port() -> int:
    """A port nothing listens on (bound once, then released): connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def assert_one_line(result, *words):
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("threadline: error: ")
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def init_with(url, tmp_path, *args, extra_env=None):
    return run_cli(*args, "init", data_dir=tmp_path / "data",
                   extra_env={"THREADLINE_DATABASE_URL": url, **(extra_env or {})})


def test_an_unknown_scheme_names_the_supported_ones(tmp_path):
    line = assert_one_line(init_with("foo://bar", tmp_path), "'foo'")
    assert "sqlite:///" in line and "postgresql+psycopg://" in line


def test_postgres_scheme_says_to_write_postgresql(tmp_path):
    assert_one_line(init_with("postgres://u@127.0.0.1/db", tmp_path), "postgresql+psycopg://")


def test_mysql_is_unsupported_and_says_what_is(tmp_path):
    assert_one_line(init_with("mysql://u@127.0.0.1/db", tmp_path), "'mysql'", "SQLite and PostgreSQL")


def test_a_password_in_a_bad_url_is_masked(tmp_path):
    line = assert_one_line(init_with("mysql://u:hunter2secret@127.0.0.1/db", tmp_path))
    assert "hunter2secret" not in line


def test_missing_postgres_driver_says_to_install_the_extra(tmp_path):
    # The plain install has no psycopg; the test environment does, so hide it from the child process the way an
    # absent package looks: its import raises ModuleNotFoundError.
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(textwrap.dedent("""
        import sys
        class HidePsycopg:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("psycopg", "psycopg2", "psycopg_binary"):
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None
        sys.meta_path.insert(0, HidePsycopg())
    """))
    result = init_with(f"postgresql+psycopg://u@127.0.0.1:{_free_port()}/db", tmp_path,
                       extra_env={"PYTHONPATH": str(blocker)})
    assert_one_line(result, "psycopg", "pip install 'threadline[postgres]'")


def test_unreachable_postgresql_in_init_is_one_line(tmp_path):
    result = init_with(f"postgresql+psycopg://u:pw@127.0.0.1:{_free_port()}/db", tmp_path)
    assert_one_line(result, "could not be reached", "database.url")


def test_a_missing_folder_is_refused_and_named(tmp_path):
    missing = tmp_path / "nonexistent" / "dir"
    result = init_with(f"sqlite:///{missing}/x.db", tmp_path)
    assert_one_line(result, str(missing), "does not exist")
    assert not missing.parent.exists()


def test_proc_path_is_refused(tmp_path):
    assert_one_line(init_with("sqlite:////proc/nope/x.db", tmp_path), "/proc/nope")


def test_unwritable_folder_is_refused(tmp_path):
    assert_one_line(init_with("sqlite:////proc/x.db", tmp_path), "cannot write /proc/x.db")


def test_the_default_data_folder_is_still_created(tmp_path):
    result = run_cli("init", data_dir=tmp_path / "new" / "data")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "new" / "data" / "threadline.db").is_file()


def test_an_explicit_url_in_the_data_folder_creates_it(tmp_path):
    data = tmp_path / "data"
    result = init_with(f"sqlite:///{data}/other.db", tmp_path)
    assert result.returncode == 0, result.stderr
    assert (data / "other.db").is_file()


@pytest.mark.parametrize("flag", ["-v", "--verbose"])
def test_verbose_shows_the_traceback(tmp_path, flag):
    result = init_with("foo://bar", tmp_path, flag)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "ConfigError" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("threadline: error: ")


def test_doctor_shows_the_default_configuration_path_and_the_file_in_use(tmp_path):
    # `threadline --help` sends people to doctor for the default path: it must be there.
    xdg = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    without = run_cli("doctor", data_dir=tmp_path, extra_env=xdg)
    default = tmp_path / "xdg" / "threadline" / "threadline.toml"
    assert f"Default configuration path: {default}" in without.stdout
    assert "Configuration file: (none" in without.stdout
    chosen = tmp_path / "chosen.toml"
    chosen.write_text("[console]\nbell = true\n")
    with_file = run_cli("--config", str(chosen), "doctor", data_dir=tmp_path, extra_env=xdg)
    assert f"Configuration file: {chosen}" in with_file.stdout
    assert f"Default configuration path: {default}" in with_file.stdout


@pytest.mark.parametrize("argv, words", [
    (["agent", "add", "bob"], ["--name", "threadline agent add --help"]),
    (["nope"], ["'nope'", "threadline --help"]),
    (["serve", "--port", "many"], ["--port", "threadline serve --help"]),
])
def test_a_usage_mistake_is_one_line_naming_the_help(tmp_path, argv, words):
    result = run_cli(*argv, data_dir=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "usage:" not in result.stderr, result.stderr
    for word in words:
        assert word in lines[0]

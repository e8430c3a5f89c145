"""Finding 10: the database (and its -wal/-shm), the data folder, the secret key and the demo's state file must not be
readable by other local users; `doctor` warns about ones that are."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.core.test_cli_and_schema import run_cli
from tests.system.processes import ROOT, stop


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _readable_by_nobody(path: Path) -> bool:
    """Whether another local account can read path (tried for real when the tests run as root)."""
    done = subprocess.run(["runuser", "-u", "nobody", "--", "cat", str(path)], capture_output=True, timeout=30)
    return done.returncode == 0


def test_init_creates_a_private_data_folder_database_and_secret_key(tmp_path):
    data = tmp_path / "home" / "data"
    done = run_cli("init", data_dir=data)
    assert done.returncode == 0, done.stderr
    database, secret = data / "threadline.db", data / "secret.key"
    # A running server keeps the write-ahead log and shared memory files open beside the database.
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE IF NOT EXISTS probe (x)")
        connection.execute("INSERT INTO probe VALUES (1)")
        connection.commit()
        wal, shm = Path(f"{database}-wal"), Path(f"{database}-shm")
        assert wal.exists() and shm.exists()
        modes = {path.name: oct(_mode(path)) for path in (database, wal, shm, secret)}
        assert modes == dict.fromkeys(modes, "0o600"), modes
    assert oct(_mode(data)) == "0o700"
    if os.geteuid() == 0 and shutil.which("runuser"):
        assert not _readable_by_nobody(database) and not _readable_by_nobody(secret)


def test_the_demo_state_file_holding_the_token_secret_is_private(tmp_path):
    folder, state_file = tmp_path / "demo", tmp_path / "state.json"
    demo = subprocess.Popen([sys.executable, "-m", "threadline", "demo", "--headless", "--port", "0",
                             "--data-dir", str(folder), "--state-file", str(state_file)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not state_file.exists():
            assert demo.poll() is None and time.monotonic() < deadline, "the demo did not write its state file"
            time.sleep(0.05)
        assert json.loads(state_file.read_text())["secret"]
        assert oct(_mode(state_file)) == "0o600"
        assert oct(_mode(folder)) == "0o700" and oct(_mode(folder / "threadline.db")) == "0o600"
    finally:
        stop(demo)


@pytest.mark.parametrize("target, mode", [("threadline.db", 0o644), ("secret.key", 0o640), (".", 0o755)])
def test_doctor_warns_about_files_other_users_can_read(tmp_path, target, mode):
    data = tmp_path / "data"
    public = {"THREADLINE_WIDGET_PUBLIC_URL": "https://support.example.com"}  # no warning about local links
    assert run_cli("init", data_dir=data).returncode == 0
    assert "warning" not in run_cli("doctor", data_dir=data, extra_env=public).stdout.lower()
    (data / target).chmod(mode)
    doctor = run_cli("doctor", data_dir=data, extra_env=public)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    path = (data / target).resolve()
    warning = next(line for line in doctor.stdout.splitlines() if "warning" in line.lower())
    assert str(path) in warning and oct(mode)[2:] in warning and "chmod" in warning, doctor.stdout

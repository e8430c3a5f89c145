"""The demo's embedded IMAP server (pymap) installs, imports and serves on every supported Python (issue 14).

How, without downloading anything while the tests run: each interpreter needs its own environment holding what
`pip install -e .` gives it, since compiled packages (pydantic-core, uvloop, ...) differ per Python version and the
point is to check what installing Threadline on that version brings. tests/run builds them before pytest starts, as
`.venv-py3.12` and `.venv-py3.13` beside `.venv` (uv, pinned by requirements/test.lock, editable install of this
checkout); the running interpreter's own version uses the running environment. The test then runs
tests/system/embedded_imap_check.py there: start the server, deliver one email, read it back over IMAP, stop.
An interpreter missing from the machine is skipped with that reason; one present without its environment is skipped
with the command that makes it (tests/run does), never built here.
"""
from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
CHECK = Path(__file__).with_name("embedded_imap_check.py")
VERSIONS = ["3.11", "3.12", "3.13"]


def find_python(version: str) -> str | None:
    """pythonX.Y on PATH if it runs (a pyenv shim may exist for a version pyenv does not select), else pyenv's own
    copy; tests/run looks in the same two places."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [shutil.which(f"python{version}")]
    candidates += [str(path) for path in sorted(pyenv.glob(f"{version}.*/bin/python{version}"), reverse=True)]
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import sys"], capture_output=True, timeout=30, check=False)
        if probe.returncode == 0:
            return candidate
    return None


def _environment_python(version: str) -> Path:
    if version == "{}.{}".format(*sys.version_info[:2]):
        return Path(sys.executable)
    if find_python(version) is None:
        pytest.skip(f"python{version} is not on this machine")
    python = ROOT / f".venv-py{version}" / "bin" / "python"
    if not python.exists():
        pytest.skip(f"no environment for Python {version}: tests/run builds {python.parent.parent.name} "
                    f"(uv venv --python python{version}; uv pip install -c requirements/test.lock -e .)")
    return python


@pytest.mark.parametrize("version", VERSIONS)
def test_the_installed_requirements_include_the_demo_mail_servers(version: str) -> None:
    """The published requirements bring pymap and aiosmtpd on each version (the marker that dropped them is gone)."""
    environment = {"python_version": version, "python_full_version": f"{version}.0", "extra": ""}
    required = {
        Requirement(line).name.lower()
        for line in importlib.metadata.requires("threadline") or []
        if Requirement(line).marker is None or Requirement(line).marker.evaluate(environment)
    }
    assert {"pymap", "aiosmtpd", "aioimaplib"} <= required


@pytest.mark.parametrize("version", VERSIONS)
def test_the_embedded_imap_server_starts_and_serves_mail(version: str) -> None:
    python = _environment_python(version)
    result = subprocess.run([str(python), str(CHECK)], capture_output=True, text=True, timeout=120,
                            cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().startswith(f"ok {version}."), result.stdout

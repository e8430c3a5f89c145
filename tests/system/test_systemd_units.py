"""contrib/systemd's unit files pass `systemd-analyze verify` and keep their sandboxing (skipped without systemd)."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.system.processes import ROOT

UNITS = ROOT / "contrib" / "systemd"
INSTALLED = "/usr/local/bin/threadline"
SANDBOX = ["NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/threadline", "ProtectHome=yes",
           "PrivateTmp=yes", "User=threadline", "CapabilityBoundingSet=", "UMask=0077"]

pytestmark = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")


def _units_here(tmp_path: Path) -> list[Path]:
    """The units with the program path pointed at this environment's `threadline` (verify checks it exists)."""
    program = Path(sys.executable).with_name("threadline")
    if not program.exists():
        pytest.skip(f"no threadline program beside {sys.executable} (pip install -e .)")
    copies = []
    for name, as_name in (("threadline.service", "threadline.service"),
                          ("threadline@.service", "threadline@8081.service")):
        copy = tmp_path / as_name
        copy.write_text((UNITS / name).read_text().replace(INSTALLED, str(program)))
        copies.append(copy)
    return copies


def test_the_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    units = _units_here(tmp_path)
    done = subprocess.run(["systemd-analyze", "verify", *map(str, units)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "threadline" not in done.stderr, done.stderr  # no warning about our units


@pytest.mark.parametrize("name", ["threadline.service", "threadline@.service"])
def test_the_units_are_sandboxed(name: str, tmp_path: Path) -> None:
    text = (UNITS / name).read_text()
    missing = [setting for setting in SANDBOX if not re.search(rf"^{re.escape(setting)}$", text, re.M)]
    assert not missing, missing
    [copy] = [unit for unit in _units_here(tmp_path) if unit.name.startswith(name.split(".")[0].rstrip("@"))
              and ("@" in unit.name) == ("@" in name)]
    security = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(copy)], cwd=tmp_path,
                              capture_output=True, text=True, timeout=60, check=False)
    if "--offline" in security.stderr:
        pytest.skip("this systemd-analyze has no offline security report (systemd < 252)")
    level = re.search(r"Overall exposure level for \S+: ([\d.]+)", security.stdout)
    assert level is not None, security.stdout[-2000:] + security.stderr
    assert float(level.group(1)) <= 2.0, security.stdout[-3000:]


def test_only_the_single_unit_migrates_the_schema() -> None:
    assert "ExecStartPre=/usr/local/bin/threadline init" in (UNITS / "threadline.service").read_text()
    template = (UNITS / "threadline@.service").read_text()
    assert "threadline init" not in template.replace("`threadline init`", "")
    assert "--port %i" in template and "--worker-id %H:%i" in template

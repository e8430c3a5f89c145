"""The wheel works anywhere (issue 16): built from this checkout, installed into a fresh environment and run from an
empty folder, it serves the widget, speaks German and composes a German email, with nothing from the checkout.

uv builds the wheel and sdist (`uv build`, setuptools from uv's cache or index) and installs the wheel with its
dependencies pinned by requirements/test.lock, so on a machine where tests/run already filled uv's cache nothing is
downloaded and it takes seconds.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.system.processes import ROOT, stop
from tests.system.test_demo import _agent_replies, _wait_for_email, _wait_for_file

PACKAGE_DATA = [
    "core/catalogs/de/LC_MESSAGES/threadline.mo",
    "mail/templates/notification.html",
    "mail/templates/notification.txt",
    "widget/static/threadline.js",
    "core/migrations/env.py",
    "core/migrations/script.py.mako",
    "core/migrations/versions/0001_initial.py",
]


def test_every_package_of_the_checkout_is_listed_for_the_wheel() -> None:
    """pyproject.toml lists packages by hand (locale/ is mapped, not discovered): a new subpackage must be added."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(init.parent.relative_to(ROOT).parts)
             for top in ("core", "mail", "tui", "widget", "threadline") for init in (ROOT / top).rglob("__init__.py")}
    assert found | {"core.catalogs"} == listed


def _uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if found is None:
        pytest.skip("uv is not installed (tests/run installs it from requirements/test.lock)")
    return found


def _outside_environment() -> dict[str, str]:
    """This environment without anything that would point the installed copy back at the checkout."""
    environment = {key: value for key, value in os.environ.items()
                   if key not in {"PYTHONPATH", "THREADLINE_LOCALE_DIR", "VIRTUAL_ENV", "THREADLINE_CONFIG"}}
    environment["NO_COLOR"] = "1"
    return environment


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a fresh environment holding only the wheel and its dependencies."""
    uv = _uv()
    place = tmp_path_factory.mktemp("wheel")
    dist = place / "dist"
    built = subprocess.run([uv, "build", "--out-dir", str(dist), str(ROOT)], capture_output=True, text=True,
                           timeout=300, env=_outside_environment(), check=False)
    assert built.returncode == 0, built.stderr[-3000:]
    wheels, sdists = list(dist.glob("threadline-*.whl")), list(dist.glob("threadline-*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in dist.iterdir())
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = set(wheel.namelist())
    assert set(PACKAGE_DATA) <= names, sorted(set(PACKAGE_DATA) - names)
    # The wheel carries compiled catalogs only, and never a top-level `locale` package shadowing the stdlib's.
    assert not [name for name in names if name.endswith((".po", ".pot")) or name.startswith("locale/")]
    with tarfile.open(sdists[0]) as sdist:
        members = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {"locale/de/LC_MESSAGES/threadline.po", "locale/de/LC_MESSAGES/threadline.mo", "locale/threadline.pot",
            "mail/templates/notification.html", "widget/static/threadline.js"} <= members

    environment = place / "env"
    created = subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(environment)], capture_output=True,
                             text=True, timeout=120, env=_outside_environment(), check=False)
    assert created.returncode == 0, created.stderr[-3000:]
    python = environment / "bin" / "python"
    # --compile-bytecode: what pip does by default; without it the first import in the fresh environment compiles
    # every dependency, which on a busy 2-core machine outlasted the probe's 60 s below.
    install = subprocess.run([uv, "pip", "install", "-q", "--compile-bytecode", "--python", str(python), "-c",
                              str(ROOT / "requirements" / "test.lock"), str(wheels[0])],
                             capture_output=True, text=True, timeout=600, env=_outside_environment(), check=False)
    assert install.returncode == 0, install.stderr[-3000:]
    return environment / "bin"


@pytest.mark.slow
def test_the_installed_package_finds_its_data_inside_the_environment(installed: Path, tmp_path: Path) -> None:
    probe = ("import core.i18n, core.schema, mail.compose, widget.app; "
             "print(core.i18n.locale_dir()); print(core.schema.MIGRATIONS_DIR); print(mail.compose.TEMPLATES_DIR); "
             "print(widget.app.STATIC_DIR); print(','.join(core.i18n.available_languages()))")
    done = subprocess.run([str(installed / "python"), "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, env=_outside_environment(), check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    *folders, languages = done.stdout.split()
    prefix = str(installed.parent)
    assert all(folder.startswith(prefix) for folder in folders), folders
    assert {"de", "fr", "ja", "pt_BR"} <= set(languages.split(","))


@contextlib.contextmanager
def _installed_demo(installed: Path, folder: Path) -> Iterator[dict]:
    state_file = folder / "state.json"
    process = subprocess.Popen(
        [str(installed / "threadline"), "demo", "--headless", "--port", "0", "--inactivity-seconds", "2",
         "--data-dir", str(folder / "demo"), "--state-file", str(state_file)],
        cwd=folder, env=_outside_environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        yield _wait_for_file(state_file, process, timeout=60)
    finally:
        code = stop(process, signal.SIGTERM, timeout=30)
        output = process.stdout.read().decode(errors="replace") if process.stdout else ""
    assert code == 0, output


@pytest.mark.slow
def test_the_installed_demo_serves_the_widget_in_german_and_emails_in_german(installed: Path,
                                                                             tmp_path: Path) -> None:
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    with _installed_demo(installed, empty) as state, httpx.Client(base_url=state["url"], timeout=10) as widget:
        script = widget.get("/widget/threadline.js")
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        assert script.text == (ROOT / "widget" / "static" / "threadline.js").read_text()

        strings = widget.get("/widget/strings", params={"lang": "de"}).json()
        assert strings["language"] == "de" and strings["strings"]["send"] == "Senden"

        started = widget.post("/api/v1/conversations",
                              json={"name": "Alice", "email": "alice@example.net", "language": "de"})
        assert started.status_code == 201, started.text
        _agent_replies(state["database_url"], started.json()["conversation"]["id"], "Ihr Paket ist unterwegs.")
        notification = _wait_for_email("alice@example.net", state["mailbox_password"], state["imap_port"], 30)
        text = notification.get_body(("plain",)).get_content()
        assert "Ihr Paket ist unterwegs." in text
        assert "Antworten Sie auf diese E-Mail, um die Unterhaltung fortzusetzen." in text

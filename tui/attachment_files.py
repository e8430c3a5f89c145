"""Attachments on the agent's machine: open one with the system's opener, or save it to ~/Downloads; read a file to
attach it (size checked before reading); complete file paths as the agent types."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from textual.suggester import Suggester

from core.attachments import Download, too_large_error
from core.file_types import clean_file_name
from core.private_files import PRIVATE_FILE_MODE


def has_display(environ: Mapping[str, str]) -> bool:
    """Whether a graphical session can show a file (X11 or Wayland) and xdg-open is there to ask it."""
    return bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")) and shutil.which("xdg-open") is not None


def free_path(folder: Path, name: str) -> Path:
    """folder/name, or folder/"stem (2).ext" and so on when that exists: a download never overwrites a file."""
    clean = clean_file_name(name)
    candidate = folder / clean
    stem, dot, extension = clean.rpartition(".")
    if not dot or not stem:
        stem, extension = clean, ""
    number = 2
    while candidate.exists():
        candidate = folder / (f"{stem} ({number})" + (f".{extension}" if extension else ""))
        number += 1
    return candidate


def _write(path: Path, content: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)


def open_or_save(download: Download, environ: Mapping[str, str], home: Path) -> tuple[Path, bool]:
    """With a display: a private copy opened with xdg-open (True). Without one: saved to ~/Downloads (False)."""
    opener = shutil.which("xdg-open")
    if has_display(environ) and opener:
        folder = Path(tempfile.mkdtemp(prefix="threadline-"))  # 0700: only this user reads the customer's file
        path = free_path(folder, download.name)
        _write(path, download.content)
        # An argument list, no shell: the file name cannot become a command.
        subprocess.Popen([opener, str(path)], stdin=subprocess.DEVNULL,  # noqa: S603
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        return path, True
    folder = home / "Downloads"
    folder.mkdir(parents=True, exist_ok=True)
    path = free_path(folder, download.name)
    _write(path, download.content)
    return path, False


def read_file_to_attach(path_text: str, max_bytes: int) -> tuple[str, bytes]:
    """The name and bytes of the file at path_text (~ expanded); too large is refused before reading it."""
    path = Path(path_text).expanduser()
    size = path.stat().st_size  # FileNotFoundError / IsADirectoryError name the problem to the agent
    if size > max_bytes:
        raise too_large_error(size, max_bytes)
    return path.name, path.read_bytes()


class PathSuggester(Suggester):
    """Completes the file or folder name being typed from what is on disk (a folder gets its trailing /)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        typed = Path(value).expanduser()
        folder, prefix = (typed, "") if value.endswith("/") else (typed.parent, typed.name)
        try:
            names = sorted(entry.name for entry in folder.iterdir() if entry.name.startswith(prefix)
                           and (prefix.startswith(".") or not entry.name.startswith(".")))
        except OSError:
            return None
        if not names:
            return None
        completion = names[0][len(prefix):]
        if (folder / names[0]).is_dir():
            completion += "/"
        return value + completion if completion else None

"""Files and folders only their owner may read (0600, 0700): the database, the data folder, secrets, state files."""
from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def make_private_dir(path: Path) -> None:
    """Create path (and missing parents) when it does not exist; the folder we create is 0700.

    An existing folder is left as it is: it may belong to another setup (a packaged /var/lib, a shared mount), and
    `threadline doctor` reports one that other users can read.
    """
    path = Path(path).expanduser()
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mkdir(path, PRIVATE_DIR_MODE)
    except FileExistsError:  # created meanwhile by another process: theirs to decide
        return
    os.chmod(path, PRIVATE_DIR_MODE)  # the umask only narrows, but a mode set explicitly says what we meant


def create_private_file(path: Path) -> bool:
    """Create an empty 0600 file when none exists (True when we created it); an existing file is left alone."""
    try:
        descriptor = os.open(Path(path).expanduser(), os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return False
    os.close(descriptor)
    return True


def write_private_file(path: Path, text: str) -> None:
    """Write text to path as a 0600 file, whole: written under another name first, then renamed over path."""
    path = Path(path).expanduser()
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(partial, path)


def open_to_others(path: Path) -> int | None:
    """The permission bits of path when group or other users have any access to it, else None (also when missing)."""
    try:
        mode = stat.S_IMODE(Path(path).stat().st_mode)
    except OSError:
        return None
    return mode if mode & 0o077 else None

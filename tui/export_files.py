"""An end user's data export on the agent's machine: a new 0600 JSON file in ~/Downloads, never over another one."""
from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from core.private_files import PRIVATE_FILE_MODE


def export_file_name(public_id: str, day: date, number: int = 0) -> str:
    """threadline-end-user-<public id>-<YYYY-MM-DD>.json; number > 0 adds -1, -2 ... before .json."""
    suffix = f"-{number}" if number else ""
    return f"threadline-end-user-{public_id}-{day.isoformat()}{suffix}.json"


def save_export(folder: Path, public_id: str, day: date, text: str) -> Path:
    """Write text to a file of its own in folder (created when missing), readable by this user only; returns it.

    Each name is created exclusively (O_EXCL), so an earlier export, or one written meanwhile, is never replaced:
    a taken name moves on to the next number.
    """
    folder.mkdir(parents=True, exist_ok=True)
    number = 0
    while True:
        path = folder / export_file_name(public_id, day, number)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
        except FileExistsError:
            number += 1
            continue
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        return path

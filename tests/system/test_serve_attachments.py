"""Two `threadline serve` processes over one database serve the same attachment: uploaded through one, downloaded
through the other by its signed link and by the end user's token."""
from __future__ import annotations

import hashlib
import signal
from pathlib import Path

import httpx

from core.db import Database
from tests.system.processes import SmtpSink, stop, threadline, wait_for_url, write_config

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40


def test_a_file_uploaded_through_one_serve_process_downloads_through_another(db: Database, tmp_path: Path) -> None:
    with SmtpSink() as sink:
        config = write_config(tmp_path, db.url, sink.port)
        logs = [tmp_path / "serve-a.log", tmp_path / "serve-b.log"]
        processes = [threadline(config, "serve", "--port", "0", "--worker-id", f"serve-{n}", log_path=log)
                     for n, log in enumerate(logs)]
        try:
            first, second = (wait_for_url(log, process) for log, process in zip(logs, processes, strict=True))
            assert first != second
            started = httpx.post(f"{first}/api/v1/conversations", json={}, timeout=10).json()
            headers = {"Authorization": f"Bearer {started['token']}"}
            uploaded = httpx.post(f"{first}/api/v1/conversations/{started['conversation']['id']}/attachments",
                                  files={"file": ("shot.png", PNG, "image/png")}, headers=headers, timeout=10)
            assert uploaded.status_code == 201, uploaded.text
            found = uploaded.json()
            by_link = httpx.get(f"{second}{found['url']}", timeout=10)
            assert by_link.status_code == 200 and hashlib.sha256(by_link.content).hexdigest() == found["sha256"]
            by_token = httpx.get(f"{second}/api/v1/attachments/{found['id']}", headers=headers, timeout=10)
            assert by_token.status_code == 200 and by_token.content == PNG
            transcript = httpx.get(f"{second}/api/v1/conversations/{started['conversation']['id']}/messages",
                                   headers=headers, timeout=10).json()
            assert transcript["messages"][-1]["attachments"][0]["sha256"] == found["sha256"]
        finally:
            codes = [stop(process, signal.SIGTERM) for process in processes]
        assert codes == [0, 0], [log.read_text() for log in logs]

"""`threadline serve` stops on SIGTERM within seconds even when its IMAP link has gone half-open."""
from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

from core.db import Database
from tests.fixtures.tcp_proxy import StallingProxy
from tests.system.processes import ImapInThread, SmtpSink, stop, threadline, write_config


def test_sigterm_with_a_half_open_imap_link_exits_0_well_before_the_old_30_s(db: Database, tmp_path: Path) -> None:
    with SmtpSink() as sink, ImapInThread({"support": "support-password"}) as imap:
        proxy = StallingProxy("127.0.0.1", imap.port)
        asyncio.run_coroutine_threadsafe(proxy.start(), imap.loop).result(10)
        config = write_config(tmp_path, db.url, sink.port, imap_port=proxy.port)
        log_path = tmp_path / "serve.log"
        serve = threadline(config, "serve", "--no-widget", log_path=log_path)
        try:
            deadline = time.monotonic() + 60
            while not proxy.saw(b"IDLE\r\n"):  # the poller is logged in, caught up and waiting in IDLE
                assert serve.poll() is None and time.monotonic() < deadline, log_path.read_text(errors="replace")
                time.sleep(0.05)
            async def stall() -> None:
                proxy.stall(new_connections="stall")  # the link and any new one now swallow everything

            asyncio.run_coroutine_threadsafe(stall(), imap.loop).result(10)
            # Generous for a loaded machine; a dead link used to hold the poller for 30 s and more.
            code = stop(serve, signal.SIGTERM, timeout=20)
        finally:
            if serve.poll() is None:
                serve.kill()
            asyncio.run_coroutine_threadsafe(proxy.stop(), imap.loop).result(10)
        log = log_path.read_text(errors="replace")
    assert code == 0, log
    assert "stopped cleanly" in log

"""Finding 9: behind a trusted proxy each visitor has their own rate limit, forged X-Forwarded-For buys nothing, and
several `serve` processes on one database together allow only the configured rate."""
from __future__ import annotations

import signal
import time

import httpx

from tests.system.processes import stop, threadline, wait_for_url, write_config

PROXY, STRANGER = "127.0.0.2", "127.0.0.3"  # loopback addresses a client can bind to on Linux


def _client(server, local_address: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=10, transport=httpx.HTTPTransport(local_address=local_address))


def _status(client: httpx.Client, forwarded_for: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for is not None else {}
    return client.get("/api/v1/availability", headers=headers).status_code


def test_visitors_behind_a_trusted_proxy_are_limited_one_by_one_and_forgeries_do_not_help(make_server, server_config):
    server_config.widget.trusted_proxies = [PROXY]
    server_config.widget.rate_limit_per_minute_per_address = 3
    server = make_server()
    with _client(server, PROXY) as proxy, _client(server, STRANGER) as stranger:
        # The proxy appends the address it saw; everything left of it is what the visitor sent and proves nothing.
        assert [_status(proxy, "203.0.113.10") for _ in range(4)] == [200, 200, 200, 429]
        assert _status(proxy, "203.0.113.11") == 200  # another visitor behind the same proxy is not held back
        assert [_status(proxy, f"198.51.100.{n}, 203.0.113.10") for n in range(3)] == [429, 429, 429]
        # A peer that is not a trusted proxy cannot pick its address by sending the header itself.
        assert [_status(stranger, f"192.0.2.{n}") for n in range(4)] == [200, 200, 200, 429]
        # Several proxies in a row: trusted hops are skipped from the right, the first untrusted one is the visitor.
        server_config.widget.trusted_proxies = [PROXY, "10.0.0.0/8"]
    server_b = make_server()
    with _client(server_b, PROXY) as proxy:
        assert [_status(proxy, "203.0.113.20, 10.1.2.3") for _ in range(3)] == [200, 200, 200]
        assert _status(proxy, "203.0.113.20") == 429  # the same visitor, reached through one proxy fewer


def test_two_serve_processes_on_one_database_together_allow_only_the_configured_rate(db, tmp_path):
    limit = 6
    config = write_config(tmp_path, db.url, 25)
    config.write_text(config.read_text().replace(
        "[widget]\n", f"[widget]\nrate_limit_per_minute_per_address = {limit}\n", 1))
    processes = [threadline(config, "serve", "--port", "0", "--worker-id", f"serve-{n}",
                            log_path=tmp_path / f"serve-{n}.log") for n in (1, 2)]
    try:
        urls = [wait_for_url(tmp_path / f"serve-{n}.log", process)
                for n, process in zip((1, 2), processes, strict=True)]
        started = time.monotonic()
        statuses = []
        with httpx.Client(timeout=10) as client:
            for url in urls:  # all of one process's share first, then the other's: per-process limits allow 2x
                statuses += [client.get(f"{url}/api/v1/availability").status_code for _ in range(limit)]
            refused = client.get(f"{urls[1]}/api/v1/availability")
        elapsed = time.monotonic() - started
    finally:
        codes = [stop(process, signal.SIGTERM) for process in processes]
    assert codes == [0, 0]
    # A bucket refills limit tokens per minute; whatever refilled while the test ran may be spent too.
    allowed = statuses.count(200)
    assert limit <= allowed <= limit + int(elapsed * limit / 60), (statuses, elapsed)
    assert statuses.count(429) == 2 * limit - allowed and refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1 and refused.json()["error"]["code"] == "rate_limited"

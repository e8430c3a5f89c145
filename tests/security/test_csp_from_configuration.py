"""Finding 8: the Host header must not reach the Content-Security-Policy (a forged one injected a report-uri)."""
from __future__ import annotations

import socket


def _raw_get(url: str, path: str, host: str) -> dict[str, str]:
    """A hand-written HTTP/1.1 request, as an attacker sends it: any Host header they like."""
    address = url.removeprefix("http://")
    name, port = address.rsplit(":", 1)
    with socket.create_connection((name, int(port)), timeout=10) as connection:
        connection.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode("latin-1"))
        raw = b""
        while chunk := connection.recv(65536):
            raw += chunk
    head = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    assert head[0].startswith("HTTP/1.1 200"), head[0]
    return {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in head[1:])}


def test_a_forged_host_header_cannot_add_a_report_uri_or_sources_to_the_policy(server):
    honest = _raw_get(server.url, "/", "support.example.com")["content-security-policy"]
    for forged in ("evil.example; report-uri https://evil.example/collect",
                   "evil.example; script-src 'unsafe-inline' *",
                   "evil.example"):
        for path in ("/", "/conversation", "/return/some-token"):
            policy = _raw_get(server.url, path, forged)["content-security-policy"]
            assert "evil" not in policy and "report-uri" not in policy and "unsafe-inline" not in policy, policy
            assert policy == honest, policy
    # The policy names what the configuration says: this server, its public URL's socket origin, the allowlist.
    assert "connect-src 'self' wss://support.example.com" in honest
    assert "frame-ancestors 'self' https://shop.example https://support.example.com" in honest

"""Which address a request comes from: the peer, or X-Forwarded-For's rightmost untrusted hop behind a trusted proxy."""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable

# Longest address kept as a rate-limit key; a proxy only ever writes IP addresses there.
_MAX_ADDRESS_CHARS = 64

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


class TrustedProxies:
    """uvicorn's forwarded-allow-ips semantics: X-Forwarded-For counts only when the peer is a listed proxy.

    Hops are read from the right: each proxy appends the address it saw, so the rightmost hop that is not a trusted
    proxy is the visitor; whatever stands left of it was written by the visitor and proves nothing.
    """

    def __init__(self, entries: Iterable[str]) -> None:
        self.networks: list[Network] = [ipaddress.ip_network(entry, strict=False) for entry in entries]

    def trusts(self, host: str | None) -> bool:
        address = _address(host or "")
        return address is not None and any(address in network for network in self.networks)

    def client_address(self, peer: str | None, forwarded_for: Iterable[str]) -> str:
        """The visitor's address for rate limits and logs; 'unknown' when the server was given no peer."""
        if not peer:
            return "unknown"
        if not self.trusts(peer):
            return peer
        hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self.trusts(hop):
                address = _address(hop)
                return str(address) if address is not None else hop[:_MAX_ADDRESS_CHARS]
        # Every hop is one of our proxies (or there is none): the leftmost one is as far as we can see.
        return str(_address(hops[0])) if hops and _address(hops[0]) else peer

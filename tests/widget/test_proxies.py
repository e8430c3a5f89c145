"""The client address behind proxies: X-Forwarded-For only from trusted peers, read from the right."""
from __future__ import annotations

import pytest

from core.config import load_config
from core.errors import ConfigError
from widget.proxies import TrustedProxies


def test_the_rightmost_untrusted_hop_is_the_client():
    proxies = TrustedProxies(["127.0.0.1", "10.0.0.0/8", "::1"])
    assert proxies.client_address("127.0.0.1", ["198.51.100.1, 203.0.113.7"]) == "203.0.113.7"
    assert proxies.client_address("127.0.0.1", ["203.0.113.7, 10.0.0.3", "10.9.9.9"]) == "203.0.113.7"
    assert proxies.client_address("::1", ["2001:db8::1"]) == "2001:db8::1"
    assert proxies.client_address("127.0.0.1", []) == "127.0.0.1"
    assert proxies.client_address("127.0.0.1", ["10.0.0.2, 10.0.0.3"]) == "10.0.0.2"
    assert proxies.client_address("127.0.0.1", ["not-an-address"]) == "not-an-address"


def test_a_peer_that_is_not_trusted_cannot_name_its_address():
    assert TrustedProxies(["127.0.0.1"]).client_address("192.0.2.9", ["203.0.113.7"]) == "192.0.2.9"
    assert TrustedProxies([]).client_address("127.0.0.1", ["203.0.113.7"]) == "127.0.0.1"
    assert TrustedProxies(["127.0.0.1"]).client_address(None, ["203.0.113.7"]) == "unknown"


def test_trusted_proxies_are_checked_at_start_up(tmp_path):
    assert load_config(environ={"HOME": str(tmp_path)}).widget.trusted_proxies == ["127.0.0.1", "::1"]
    config = load_config(environ={"THREADLINE_WIDGET_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1"})
    assert config.widget.trusted_proxies == ["10.0.0.0/8", "192.0.2.1"]
    with pytest.raises(ConfigError, match=r"widget\.trusted_proxies"):
        load_config(environ={"THREADLINE_WIDGET_TRUSTED_PROXIES": "proxy.example.com"})

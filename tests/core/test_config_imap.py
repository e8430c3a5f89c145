"""The [imap] keys added for link robustness: keepalive's default, environment override and its lower bound."""
from __future__ import annotations

import pytest

from core.config import load_config
from core.errors import ConfigError


def test_keepalive_defaults_to_60_s_and_can_be_set_from_the_environment(tmp_path):
    assert load_config(None, environ={}).imap.keepalive == 60.0
    assert load_config(None, environ={"THREADLINE_IMAP_KEEPALIVE": "20"}).imap.keepalive == 20.0


def test_a_keepalive_below_one_second_is_refused_with_the_key_named(tmp_path):
    path = tmp_path / "threadline.toml"
    path.write_text("[imap]\nkeepalive = 0\n")
    with pytest.raises(ConfigError, match=r"imap\.keepalive must be at least 1"):
        load_config(path, environ={})

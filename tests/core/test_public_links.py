"""An empty widget.public_url: doctor warns that emails would link to this machine, and serve refuses to listen
beyond loopback unless told --allow-local-links."""
from __future__ import annotations

import pytest

from core.config import Config
from tests.core.test_cli_and_schema import run_cli
from threadline.public_links import is_loopback, local_links_refusal, local_links_warning


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.1.2.3", True), ("::1", True),
                                            ("[::1]", True), ("localhost", True), ("0.0.0.0", False),
                                            ("::", False), ("192.168.1.5", False), ("support.example.com", False)])
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback


def test_serve_refuses_only_beyond_loopback_without_a_public_url():
    config = Config()
    assert local_links_refusal(config, "127.0.0.1", False) is None
    assert "--allow-local-links" in (local_links_refusal(config, "0.0.0.0", False) or "")
    assert local_links_refusal(config, "0.0.0.0", True) is None
    config.widget.public_url = "https://support.example.com"
    assert local_links_refusal(config, "0.0.0.0", False) is None
    assert local_links_warning(config) is None


def test_doctor_warns_about_local_links(tmp_path):
    assert run_cli("init", data_dir=tmp_path).returncode == 0
    doctor = run_cli("doctor", data_dir=tmp_path)
    assert "widget.public_url is empty" in doctor.stdout and "http://127.0.0.1:8080" in doctor.stdout
    set_url = run_cli("doctor", data_dir=tmp_path, extra_env={"THREADLINE_WIDGET_PUBLIC_URL": "https://s.example.com"})
    assert "widget.public_url is empty" not in set_url.stdout


def test_serve_beyond_loopback_stops_with_one_line(tmp_path):
    assert run_cli("init", data_dir=tmp_path).returncode == 0
    result = run_cli("serve", "--host", "0.0.0.0", "--port", "0", data_dir=tmp_path)
    assert result.returncode == 1
    assert "widget.public_url is empty" in result.stderr and "Traceback" not in result.stderr

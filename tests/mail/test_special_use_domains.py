"""mail.allow_special_use_domains: lab and staging setups may use support@acme.test; by default such addresses are
refused."""
from __future__ import annotations

import asyncio

import pytest

from core import addresses
from core.errors import InvalidInput
from core.settings import SettingsService
from tests.fixtures.smtp import TEST_SECRET
from threadline.cli import main


@pytest.fixture(autouse=True)
def refused_again_afterwards():
    yield
    addresses.allow_special_use_domains(False)  # the setting is per process; the next test starts from the default


def _config(tmp_path, database_url: str, port: int, allow: bool | None) -> str:
    path = tmp_path / "threadline.toml"
    mail = "" if allow is None else f"[mail]\nallow_special_use_domains = {'true' if allow else 'false'}\n"
    path.write_text(
        f'[general]\nsecret = "{TEST_SECRET}"\ndata_dir = "{tmp_path}"\n'
        f'[database]\nurl = "{database_url}"\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\ntimeout = 5\n{mail}'
    )
    return str(path)


def test_by_default_the_support_address_refuses_a_test_domain_and_names_the_setting(world):
    with world.db.session() as session:
        with pytest.raises(InvalidInput, match=r"mail\.allow_special_use_domains = true"):
            SettingsService(session, world.clock).update(support_address="support@acme.test")


@pytest.mark.parametrize("address, normalized", [
    ("support@acme.test", "support@acme.test"),
    ("Help@Desk.Lab.LOCAL", "Help@desk.lab.local"),
    ("ops@localhost", "ops@localhost"),
])
def test_with_the_setting_special_use_addresses_are_accepted_and_normalized(address, normalized):
    addresses.allow_special_use_domains(True)
    assert addresses.normalize_email(address) == normalized


def test_with_the_setting_a_malformed_address_is_still_refused():
    addresses.allow_special_use_domains(True)
    with pytest.raises(InvalidInput, match="two periods"):
        addresses.normalize_email("support@acme..test")


async def test_a_lab_setup_sends_from_and_to_test_domains_through_the_command_line(world, smtp_server, database_url,
                                                                                 tmp_path, capsys):
    refused = await asyncio.to_thread(main, ["--config", _config(tmp_path, database_url, smtp_server.port, None),
                                             "send-test-email", "ops@lab.test"])
    assert refused == 1
    assert "mail.allow_special_use_domains" in capsys.readouterr().err
    assert smtp_server.received == []

    config = _config(tmp_path, database_url, smtp_server.port, True)
    addresses.allow_special_use_domains(True)  # as `threadline` does at start-up, to store the lab support address
    with world.db.session() as session:
        SettingsService(session, world.clock).update(support_address="support@acme.test")
    addresses.allow_special_use_domains(False)  # main() must turn it on from the configuration by itself
    sent = await asyncio.to_thread(main, ["--config", config, "send-test-email", "ops@lab.test"])
    assert sent == 0, capsys.readouterr().err
    [received] = smtp_server.received
    assert received.rcpt_tos == ["ops@lab.test"]
    assert received.message["From"].addresses[0].addr_spec == "support@acme.test"

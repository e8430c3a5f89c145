"""`threadline send-test-email` through the real command line and a real SMTP server."""
from __future__ import annotations

import asyncio

from threadline.cli import main
from tests.fixtures.smtp import TEST_SECRET


def _config(tmp_path, database_url: str, port: int) -> str:
    path = tmp_path / "threadline.toml"
    path.write_text(
        f'[general]\nsecret = "{TEST_SECRET}"\ndata_dir = "{tmp_path}"\n'
        f'[database]\nurl = "{database_url}"\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\ntimeout = 5\n'
    )
    return str(path)


async def test_sends_a_sample_in_the_asked_language(world, smtp_server, database_url, tmp_path, capsys):
    config = _config(tmp_path, database_url, smtp_server.port)
    code = await asyncio.to_thread(main, ["--config", config, "send-test-email", "Admin@Example.net", "--lang", "fr-CA"])
    assert code == 0
    [received] = smtp_server.received
    message = received.message
    assert received.rcpt_tos == ["Admin@example.net"]
    assert message["From"].addresses[0].addr_spec == "help@example.com"
    assert message["Auto-Submitted"] == "auto-generated"
    out = capsys.readouterr().out
    assert "Admin@example.net" in out and message["Message-ID"] in out
    # fr-CA negotiates to the French catalog.
    assert message["Content-Language"] == "fr"
    assert "Répondez à cet e-mail pour poursuivre la conversation." in message.get_body(("plain",)).get_content()


async def test_a_refused_address_fails_with_the_reason(world, scripted_smtp_server, database_url, tmp_path, capsys):
    server = await scripted_smtp_server(["550 5.1.1 No such user"])
    config = _config(tmp_path, database_url, server.port)
    code = await asyncio.to_thread(main, ["--config", config, "send-test-email", "nobody@example.net"])
    assert code == 1
    assert "550 5.1.1 No such user" in capsys.readouterr().err


def test_a_bad_address_is_refused_before_sending(world, database_url, tmp_path, capsys, down_smtp_port):
    config = _config(tmp_path, database_url, down_smtp_port)
    assert main(["--config", config, "send-test-email", "not an address"]) == 1
    assert "not a valid email address" in capsys.readouterr().err

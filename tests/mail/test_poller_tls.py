"""The poller over TLS and STARTTLS to an embedded pymap server holding a self-signed certificate."""
from __future__ import annotations

import asyncio
import ssl

from mail.poller import ImapPoller
from tests.fixtures.imap import wait_for
from tests.mail.test_poller_imap import email_messages, running
from threadline.embedded_imap import EmbeddedImap


def configure(world, server: EmbeddedImap, tls: str, ca_file: str):
    config = world.config
    config.imap.host, config.imap.port, config.imap.tls, config.imap.ca_file = server.host, server.port, tls, ca_file
    config.imap.username, config.imap.password = "support", "support-pw"
    return ImapPoller(world.db, config, world.clock, world.signer, backoff_base=0.05, backoff_cap=0.2)


async def test_implicit_tls_files_a_reply(certificate, inbound_world):
    ca_file, context = certificate
    client_context = ssl.create_default_context(cafile=ca_file)
    async with EmbeddedImap({"support": "support-pw"}, tls="tls", ssl_context=context,
                            client_ssl_context=client_context) as server:
        async with running(configure(inbound_world, server, "tls", ca_file)) as poller:
            await wait_for(lambda: poller.using_idle)
            assert poller.encrypted is True
            await server.append("support", inbound_world.reply("over TLS"))
            await wait_for(lambda: email_messages(inbound_world))
    assert [m.body for m in email_messages(inbound_world)] == ["over TLS"]


async def test_starttls_upgrades_before_login(certificate, inbound_world):
    ca_file, context = certificate
    async with EmbeddedImap({"support": "support-pw"}, tls="starttls", ssl_context=context) as server:
        async with running(configure(inbound_world, server, "starttls", ca_file)) as poller:
            await wait_for(lambda: poller.connections == 1 and poller.using_idle is not None)
            assert poller.encrypted is True


async def test_an_untrusted_certificate_is_refused_and_retried(certificate, inbound_world):
    _ca_file, context = certificate
    async with EmbeddedImap({"support": "support-pw"}, tls="tls", ssl_context=context) as server:
        poller = configure(inbound_world, server, "tls", "")  # the system's CAs do not know the test certificate
        async with running(poller):
            await asyncio.sleep(0.3)
            assert poller.connections == 0

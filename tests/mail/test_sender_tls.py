"""STARTTLS, implicit TLS and login by config, against aiosmtpd with a self-signed certificate on 127.0.0.1."""
from __future__ import annotations

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from core.models import OutboxStatus
from mail.sender import OutboxSender
from tests.fixtures.smtp import mail_config
from threadline.embedded_smtp import EmbeddedSmtpServer


class Logins:
    def __init__(self) -> None:
        self.seen: list[tuple[bytes, bool]] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"sender", b"s3cret")
        encrypted = server.transport.get_extra_info("ssl_object") is not None
        self.seen.append((getattr(auth_data, "login", b""), encrypted))
        return AuthResult(success=ok, handled=False)


def _sender(world, port, ca_file, tls, password="s3cret") -> OutboxSender:
    config = mail_config(port)
    config.smtp.tls, config.smtp.ca_file = tls, ca_file
    config.smtp.username, config.smtp.password = "sender", password
    return OutboxSender(world.db, config, world.signer, world.clock, worker_id="tls", rng=lambda: 0.5)


@pytest.mark.parametrize("tls", ["starttls", "tls"])
async def test_sends_over_tls_with_login(world, certificate, tls):
    ca_file, context = certificate
    logins = Logins()
    server = EmbeddedSmtpServer(tls_context=context, implicit_tls=tls == "tls", authenticator=logins)
    await server.start()
    try:
        job_id = world.notify(world.conversation(), ["Over TLS"])
        sender = _sender(world, server.port, ca_file, tls)
        await sender.run_once()
        await sender.pool.close()
    finally:
        await server.stop()
    assert world.job(job_id).status is OutboxStatus.sent
    assert len(server.received) == 1
    assert logins.seen == [(b"sender", True)]


async def test_a_wrong_password_keeps_the_job_for_later(world, certificate):
    ca_file, context = certificate
    server = EmbeddedSmtpServer(tls_context=context, authenticator=Logins())
    await server.start()
    try:
        job_id = world.notify(world.conversation(), ["Hello"])
        sender = _sender(world, server.port, ca_file, "starttls", password="wrong")
        await sender.run_once()
        await sender.pool.close()
    finally:
        await server.stop()
    job = world.job(job_id)
    assert job.status is OutboxStatus.pending and "refused our login" in job.last_error
    assert server.received == []


async def test_an_untrusted_certificate_is_not_accepted(world, certificate):
    _ca_file, context = certificate
    server = EmbeddedSmtpServer(tls_context=context, authenticator=Logins())
    await server.start()
    try:
        job_id = world.notify(world.conversation(), ["Hello"])
        sender = _sender(world, server.port, "", "starttls")  # system CAs do not know this certificate
        await sender.run_once()
        await sender.pool.close()
    finally:
        await server.stop()
    job = world.job(job_id)
    assert job.status is OutboxStatus.pending and "CERTIFICATE" in job.last_error.upper()
    assert server.received == []

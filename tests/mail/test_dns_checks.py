"""`threadline doctor --mail` against a real DNS server on 127.0.0.1 (dnslib) serving good and broken SPF, DKIM and
DMARC records; dnspython asks it because mail.dns_server (THREADLINE_MAIL_DNS_SERVER) says so."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dnslib import AAAA, MX, QTYPE, RR, TXT, A
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from core.config import Config
from mail.dkim_signing import dkim_record, generate_private_key, txt_strings
from mail.dns_checks import check_dkim, check_dmarc, check_spf, mail_dns_checks, make_resolver
from tests.core.test_cli_and_schema import run_cli

Records = dict[tuple[str, str], list[object]]


class Zone(BaseResolver):  # type: ignore[misc]
    """Answers from {(name, type): [rdata]}; NXDOMAIN for names it does not hold, an empty answer otherwise."""

    def __init__(self) -> None:
        self.records: Records = {}

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        kind = QTYPE[request.q.qtype]
        for rdata in self.records.get((name, kind), []):
            reply.add_answer(RR(name, request.q.qtype, rdata=rdata, ttl=60))
        if not any(key[0] == name for key in self.records):
            reply.header.rcode = 3
        return reply


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dkim") / "s1.pem"
    generate_private_key(path)
    return path


@pytest.fixture
def zone(key_file: Path) -> Iterator[tuple[Zone, int]]:
    """A good setup for example.com: SPF through include and mx, the DKIM key in two strings, DMARC quarantine."""
    zone = Zone()
    zone.records = {
        ("example.com", "TXT"): [
            TXT("v=spf1 mx include:_spf.provider.example -all"),
            TXT("google-site-verification=x"),
        ],
        ("example.com", "MX"): [MX("mx.example.com", 10)],
        ("mx.example.com", "A"): [A("198.51.100.7")],
        ("_spf.provider.example", "TXT"): [TXT("v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ~all")],
        ("relay.provider.example", "A"): [A("192.0.2.25")],
        ("relay.provider.example", "AAAA"): [AAAA("2001:db8::25")],
        ("elsewhere.example", "A"): [A("203.0.113.9")],
        ("s1._domainkey.example.com", "TXT"): [TXT(txt_strings(dkim_record(key_file.read_bytes())))],
        ("_dmarc.example.com", "TXT"): [TXT("v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com")],
    }
    server = DNSServer(zone, port=0, address="127.0.0.1", tcp=False, logger=DNSLogger(logf=lambda _line: None))
    server.start_thread()
    try:
        yield zone, server.server.server_address[1]
    finally:
        server.stop()


def _resolver(zone: tuple[Zone, int]):
    return make_resolver(f"127.0.0.1:{zone[1]}", timeout=3)


def _config(key_file: Path, relay: str = "relay.provider.example") -> Config:
    config = Config()
    config.smtp.host = relay
    config.mail.dkim_selector = "s1"
    config.mail.dkim_private_key_file = str(key_file)
    return config


def test_a_good_setup_passes(zone, key_file):
    checks = mail_dns_checks(_config(key_file), "help@example.com", _resolver(zone))
    assert [c.ok for c in checks] == [True, True, True], [c.line for c in checks]
    assert "policy quarantine" in checks[2].line


@pytest.mark.parametrize("relay, ok", [("relay.provider.example", True), ("mx.example.com", True),
                                       ("192.0.2.200", True), ("elsewhere.example", False),
                                       ("203.0.113.10", False), ("2001:db8::1", True)])
def test_spf_covers_the_relay_or_says_it_does_not(zone, relay, ok):
    check = check_spf(_resolver(zone), "example.com", relay)
    assert check.ok is ok, check.line
    if not ok:
        assert "does not let the relay" in check.line and "(result: fail)" in check.line


def test_spf_missing_duplicated_or_looping(zone):
    records = zone[0].records
    records[("example.com", "TXT")] = [TXT("google-site-verification=x")]
    assert "no SPF record" in check_spf(_resolver(zone), "example.com", "192.0.2.1").line
    records[("example.com", "TXT")] = [TXT("v=spf1 -all"), TXT("v=spf1 +all")]
    assert "2 SPF records" in check_spf(_resolver(zone), "example.com", "192.0.2.1").line
    records[("example.com", "TXT")] = [TXT("v=spf1 include:example.com -all")]
    line = check_spf(_resolver(zone), "example.com", "192.0.2.1").line
    assert "more than 10 DNS lookups" in line


def test_dkim_record_must_hold_the_configured_key(zone, key_file, tmp_path):
    assert check_dkim(_resolver(zone), "s1", "example.com", str(key_file)).ok
    other = tmp_path / "other.pem"
    generate_private_key(other)
    assert "another key" in check_dkim(_resolver(zone), "s1", "example.com", str(other)).line
    assert "no record at s2._domainkey.example.com" in check_dkim(_resolver(zone), "s2", "example.com",
                                                                  str(key_file)).line
    zone[0].records[("s1._domainkey.example.com", "TXT")] = [TXT("v=DKIM1; k=rsa; p=")]
    assert "revoked" in check_dkim(_resolver(zone), "s1", "example.com", str(key_file)).line
    assert not check_dkim(_resolver(zone), "", "example.com", "").ok


def test_dmarc_present_and_policy(zone):
    records = zone[0].records
    records[("_dmarc.example.com", "TXT")] = [TXT("v=DMARC1; p=none")]
    check = check_dmarc(_resolver(zone), "example.com")
    assert check.ok and "policy none" in check.line
    records[("_dmarc.example.com", "TXT")] = [TXT("v=DMARC1; rua=mailto:x@example.com")]
    assert not check_dmarc(_resolver(zone), "example.com").ok
    del records[("_dmarc.example.com", "TXT")]
    check = check_dmarc(_resolver(zone), "example.com")
    assert not check.ok and "no record at _dmarc.example.com" in check.line


def test_doctor_mail_from_the_command_line(zone, key_file, tmp_path):
    env = {"THREADLINE_MAIL_DNS_SERVER": f"127.0.0.1:{zone[1]}", "THREADLINE_SMTP_HOST": "elsewhere.example",
           "THREADLINE_MAIL_DKIM_SELECTOR": "s1", "THREADLINE_MAIL_DKIM_PRIVATE_KEY_FILE": str(key_file),
           "THREADLINE_WIDGET_PUBLIC_URL": "https://support.example.com"}
    assert run_cli("init", data_dir=tmp_path).returncode == 0
    from core.clock import SystemClock
    from core.db import Database
    from core.settings import SettingsService

    database = Database(f"sqlite:///{tmp_path / 'threadline.db'}")
    with database.session() as session:
        SettingsService(session, SystemClock()).update(support_address="help@example.com")
    database.dispose()
    result = run_cli("doctor", "--mail", data_dir=tmp_path, extra_env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "problem: SPF:" in result.stdout and "elsewhere.example" in result.stdout
    assert "ok: DKIM: s1._domainkey.example.com publishes the configured key" in result.stdout
    assert "ok: DMARC: policy quarantine" in result.stdout
    env["THREADLINE_SMTP_HOST"] = "relay.provider.example"
    assert run_cli("doctor", "--mail", data_dir=tmp_path, extra_env=env).returncode == 0

"""`threadline doctor --mail`: the support domain's SPF, DKIM and DMARC records, checked against our configuration.

SPF is evaluated for the SMTP relay's address (ip4, ip6, a, mx, include, redirect, all; at most 10 lookups as
RFC 7208 4.6.4 allows), the DKIM record's key is compared with the configured private key, and the DMARC record's
policy is read. Every answer is one line a person can act on.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dns.exception
import dns.resolver

from core.config import Config
from core.errors import ConfigError
from core.i18n import _
from mail.dkim_signing import public_key_base64, read_private_key

MAX_SPF_LOOKUPS = 10
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class DnsCheck:
    ok: bool
    line: str


def make_resolver(server: str = "", timeout: float = 5.0) -> dns.resolver.Resolver:
    """The system's resolver, or one asking only server ("address" or "address:port", "[v6]:port")."""
    if not server:
        resolver = dns.resolver.Resolver()
    else:
        resolver = dns.resolver.Resolver(configure=False)
        host, port = server, 53
        if server.startswith("["):
            host, _sep, rest = server[1:].partition("]")
            port = int(rest.lstrip(":") or 53)
        elif server.count(":") == 1:
            host, _sep, port_text = server.partition(":")
            port = int(port_text)
        resolver.nameservers = [host]
        resolver.port = port
    resolver.lifetime = timeout
    return resolver


def txt_records(resolver: dns.resolver.Resolver, name: str) -> list[str]:
    """Every TXT record at name, each with its strings joined (as SPF, DKIM and DMARC read them); [] if none."""
    try:
        answer = resolver.resolve(name, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in answer]


def _addresses(resolver: dns.resolver.Resolver, name: str) -> list[IpAddress]:
    found: list[IpAddress] = []
    for kind in ("A", "AAAA"):
        try:
            found += [ipaddress.ip_address(rdata.address) for rdata in resolver.resolve(name, kind)]
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            continue
    return found


def relay_addresses(resolver: dns.resolver.Resolver, host: str) -> list[IpAddress]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        return _addresses(resolver, host)


class _SpfEvaluation:
    """check_host() of RFC 7208, reduced to what says whether one address may send for a domain."""

    def __init__(self, resolver: dns.resolver.Resolver, ip: IpAddress) -> None:
        self.resolver = resolver
        self.ip = ip
        self.lookups = 0

    def _lookup(self) -> None:
        self.lookups += 1
        if self.lookups > MAX_SPF_LOOKUPS:
            raise ValueError(_("more than {count} DNS lookups (RFC 7208 permerror)").format(count=MAX_SPF_LOOKUPS))

    def _in(self, networks: list[IpAddress], prefix: str) -> bool:
        """Whether our address is one of networks, each widened to /prefix (IPv4 only; "" for exact)."""
        bits = prefix.lstrip("/")
        for address in networks:
            length = int(bits) if bits.isdigit() and address.version == 4 else address.max_prefixlen
            if self.ip.version == address.version and self.ip in ipaddress.ip_network(f"{address}/{length}",
                                                                                      strict=False):
                return True
        return False

    def result(self, domain: str) -> str:
        """pass, fail, softfail, neutral or none for the address sending as domain."""
        records = [r for r in txt_records(self.resolver, domain) if r.lower().split(" ", 1)[0] == "v=spf1"]
        if not records:
            return "none"
        if len(records) > 1:
            raise ValueError(_("{domain} has {count} SPF records; keep one").format(domain=domain, count=len(records)))
        redirect = ""
        for term in records[0].split()[1:]:
            qualifier = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}.get(term[0], "")
            mechanism = term[1:] if qualifier else term
            qualifier = qualifier or "pass"
            name, _sep, value = mechanism.partition(":")
            name = name.lower()
            if "/" in name and not value:  # a/24 or mx/24
                name, _slash, cidr = name.partition("/")
                value = f"/{cidr}"
            if name.startswith("redirect="):
                redirect = mechanism.split("=", 1)[1]
                continue
            if self._matches(name, value, domain):
                return qualifier
        if redirect:
            self._lookup()
            return self.result(redirect)
        return "neutral"

    def _matches(self, name: str, value: str, domain: str) -> bool:
        if name == "all":
            return True
        if name in ("ip4", "ip6"):
            try:
                return self.ip in ipaddress.ip_network(value, strict=False)
            except ValueError:
                return False
        if name in ("a", "mx"):
            self._lookup()
            target, _slash, cidr = value.partition("/")
            target = target or domain
            prefix = f"/{cidr}" if cidr else ""
            if name == "a":
                return self._in(_addresses(self.resolver, target), prefix)
            try:
                exchanges = [str(r.exchange).rstrip(".") for r in self.resolver.resolve(target, "MX")]
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                return False
            return any(self._in(_addresses(self.resolver, mx), prefix) for mx in exchanges)
        if name == "include":
            self._lookup()
            return self.result(value) == "pass"
        return False  # exists, ptr and unknown mechanisms: not evaluated, never a match


def check_spf(resolver: dns.resolver.Resolver, domain: str, relay_host: str) -> DnsCheck:
    records = [r for r in txt_records(resolver, domain) if r.lower().split(" ", 1)[0] == "v=spf1"]
    if not records:
        return DnsCheck(False, _("SPF: {domain} has no SPF record; publish e.g. \"v=spf1 ip4:ADDRESS-OF-YOUR-RELAY "
                                 "-all\"").format(domain=domain))
    addresses = relay_addresses(resolver, relay_host)
    if not addresses:
        return DnsCheck(False, _("SPF: cannot find the address of the SMTP relay {host}").format(host=relay_host))
    if any(address.is_loopback for address in addresses):
        return DnsCheck(True, _("SPF: {domain} has \"{record}\"; the relay {host} is this machine, so the record must "
                                "cover this machine's public address (doctor cannot see it)").format(
            domain=domain, record=records[0], host=relay_host))
    for address in addresses:
        try:
            result = _SpfEvaluation(resolver, address).result(domain)
        except ValueError as exc:
            return DnsCheck(False, _("SPF: {domain}: {error}").format(domain=domain, error=exc))
        if result != "pass":
            return DnsCheck(False, _("SPF: \"{record}\" does not let the relay {host} ({address}) send for {domain} "
                                     "(result: {result}); add ip4:/ip6: for it or include: your provider's record"
                                     ).format(record=records[0], host=relay_host, address=address, domain=domain,
                                              result=result))
    return DnsCheck(True, _("SPF: \"{record}\" lets the relay {host} send for {domain}").format(
        record=records[0], host=relay_host, domain=domain))


def _tags(record: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for part in record.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep:
            tags[key.strip().lower()] = "".join(value.split())
    return tags


def check_dkim(resolver: dns.resolver.Resolver, selector: str, domain: str, key_file: str) -> DnsCheck:
    if not selector or not key_file:
        return DnsCheck(False, _("DKIM: not set up; make a key with `threadline dkim generate --selector S`, publish "
                                 "its record and set mail.dkim_selector and mail.dkim_private_key_file"))
    name = f"{selector}._domainkey.{domain}"
    records = [r for r in txt_records(resolver, name) if "p=" in r]
    if not records:
        return DnsCheck(False, _("DKIM: no record at {name}; publish the one `threadline dkim generate` printed"
                                 ).format(name=name))
    try:
        wanted = public_key_base64(read_private_key(Path(key_file).expanduser()))
    except ConfigError as exc:
        return DnsCheck(False, _("DKIM: {error}").format(error=exc.message))
    published = _tags(records[0]).get("p", "")
    if not published:
        return DnsCheck(False, _("DKIM: the record at {name} is revoked (empty p=)").format(name=name))
    if published != wanted:
        return DnsCheck(False, _("DKIM: the record at {name} holds another key than {file}; publish this key's "
                                 "record or point mail.dkim_private_key_file at the matching key").format(
            name=name, file=key_file))
    return DnsCheck(True, _("DKIM: {name} publishes the configured key").format(name=name))


def check_dmarc(resolver: dns.resolver.Resolver, domain: str) -> DnsCheck:
    name = f"_dmarc.{domain}"
    records = [r for r in txt_records(resolver, name) if r.replace(" ", "").lower().startswith("v=dmarc1")]
    if not records:
        return DnsCheck(False, _("DMARC: no record at {name}; publish at least \"v=DMARC1; p=none; "
                                 "rua=mailto:dmarc@{domain}\" (Gmail and Yahoo require one)").format(
            name=name, domain=domain))
    if len(records) > 1:
        return DnsCheck(False, _("DMARC: {name} has {count} records; receivers then ignore them all").format(
            name=name, count=len(records)))
    policy = _tags(records[0]).get("p", "").lower()
    if policy not in ("none", "quarantine", "reject"):
        return DnsCheck(False, _("DMARC: the record at {name} has no valid policy (p=none, quarantine or reject)"
                                 ).format(name=name))
    if policy == "none":
        return DnsCheck(True, _("DMARC: present at {name}, policy none (reports only; move to quarantine once SPF "
                                "and DKIM pass)").format(name=name))
    return DnsCheck(True, _("DMARC: policy {policy} at {name}").format(policy=policy, name=name))


def mail_dns_checks(config: Config, support_address: str, resolver: dns.resolver.Resolver) -> list[DnsCheck]:
    """SPF, DKIM and DMARC for the support address's domain; a DNS failure becomes a failed line, not a crash."""
    domain = support_address.rpartition("@")[2].lower()
    if not domain:
        return [DnsCheck(False, _("mail: no support address is set, so there is no domain to check"))]
    checks: list[DnsCheck] = []
    steps: list[Callable[[], DnsCheck]] = [
        lambda: check_spf(resolver, domain, config.smtp.host),
        lambda: check_dkim(resolver, config.mail.dkim_selector, config.mail.dkim_domain or domain,
                           config.mail.dkim_private_key_file),
        lambda: check_dmarc(resolver, domain),
    ]
    for check in steps:
        try:
            checks.append(check())
        except dns.exception.DNSException as exc:
            checks.append(DnsCheck(False, _("mail: DNS did not answer ({error}); check mail.dns_server or the "
                                            "system's resolver").format(error=type(exc).__name__)))
    return checks

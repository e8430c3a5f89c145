"""`threadline dkim generate --selector S [--domain D]`: make a DKIM key and print the DNS record to publish."""
from __future__ import annotations

import argparse
import re
from pathlib import Path

from core.errors import PreconditionFailed
from core.i18n import _
from core.settings import SettingsService
from threadline.context import AppContext

LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
SELECTOR = re.compile(rf"{LABEL}(?:\.{LABEL})*")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "dkim", help=_("make a DKIM signing key"),
        description=_("Make keys that sign outgoing emails with DKIM, and print the DNS record to publish."))
    actions = parser.add_subparsers(dest="dkim_action", metavar=_("ACTION"), required=True)
    generate = actions.add_parser(
        "generate", help=_("write a new 2048-bit RSA key and print its DNS TXT record"),
        description=_("Write a new 2048-bit RSA key (readable by its owner only) and print the TXT record to publish "
                      "at SELECTOR._domainkey.DOMAIN, then the settings that sign with it."))
    generate.add_argument("--selector", required=True, metavar="SELECTOR",
                          help=_("the selector, e.g. a date such as 2026a (lets a new key replace an old one)"))
    generate.add_argument("--domain", metavar="DOMAIN", default=None,
                          help=_("the signing domain (default: the support address's domain)"))
    generate.add_argument("--key-file", metavar="PATH", default=None,
                          help=_("where to write the key (default: <data_dir>/dkim/SELECTOR.pem)"))
    return parser


def run(args: argparse.Namespace, context: AppContext) -> int:
    # Here, not at the top: the DKIM library loads a DNS library, which no other command needs.
    from mail.dkim_signing import KEY_BITS, dkim_record, generate_private_key, txt_strings, zone_file_line

    domain = args.domain or context.config.mail.dkim_domain
    if not domain:
        with context.db.read_session() as session:
            domain = SettingsService(session, context.clock).load().support_address.rpartition("@")[2]
    if not domain:
        raise PreconditionFailed(_("No domain to sign for: give --domain, or set a support address first."))
    selector = args.selector.strip()
    if not SELECTOR.fullmatch(selector):
        raise PreconditionFailed(_("{selector!r} is not a DKIM selector; use letters, digits and hyphens.").format(
            selector=args.selector))
    path = Path(args.key_file).expanduser() if args.key_file else context.config.data_path / "dkim" / f"{selector}.pem"
    pem = generate_private_key(path)
    record = dkim_record(pem)
    print(_("Wrote a {bits}-bit RSA key to {path} (mode 0600).").format(bits=KEY_BITS, path=path))
    print()
    print(_("Publish this TXT record at {name}:").format(name=f"{selector}._domainkey.{domain}"))
    print()
    print(zone_file_line(selector, domain, record))
    print()
    print(
        _("(As {count} strings of at most 255 bytes; a DNS panel that takes one long value joins them itself.)").format(
            count=len(txt_strings(record))
        )
    )
    print()
    print(_("Then sign with it:"))
    print("[mail]")
    print(f'dkim_selector = "{selector}"')
    print(f'dkim_private_key_file = "{path}"')
    if args.domain:
        print(f'dkim_domain = "{domain}"')
    return 0

"""`threadline doctor`: show the effective configuration (secrets masked), check the database and who can read it."""
from __future__ import annotations

import argparse
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from core.config import Config, default_config_path
from core.database_checks import check_database
from core.i18n import _
from core.masking import mask
from core.private_files import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, open_to_others
from core.settings import SettingsService
from threadline import __version__
from threadline.blob_s3 import check_blob_store
from threadline.context import AppContext
from threadline.public_links import local_links_warning


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "doctor", help=_("show the configuration and check the database"),
        description=_("Print Threadline's version, the configuration file in use and the default configuration "
                      "path, the effective configuration with secrets masked, check that the database is reachable, "
                      "show its schema version and the migrations `threadline init` would apply, and warn about data "
                      "files other users of this machine can read."),
    )
    parser.add_argument("--mail", action="store_true",
                        help=_("also check the support domain's SPF, DKIM and DMARC records in DNS"))
    return parser


def _say(line: str) -> None:
    # Every line goes through the mask: an error text from a driver may quote a URL or a password.
    print(mask(line))


def private_paths(config: Config) -> list[tuple[Path, int]]:
    """The data folder, the token secret, the SQLite database and its -wal/-shm files, and the configuration file
    when it holds a secret, each with the mode it should have."""
    paths = [(config.data_path, PRIVATE_DIR_MODE), (config.data_path / "secret.key", PRIVATE_FILE_MODE)]
    try:
        url = make_url(config.database_url)
    except (ArgumentError, ValueError):  # what make_url raises for a string that is no URL
        url = None
    if url is not None and url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
            and not url.database.startswith("file:"):
        database = Path(url.database).expanduser()
        paths.append((database.parent, PRIVATE_DIR_MODE))
        paths += [(Path(f"{database}{suffix}"), PRIVATE_FILE_MODE) for suffix in ("", "-wal", "-shm")]
    if config.source and config.secret_values():
        paths.append((Path(config.source), PRIVATE_FILE_MODE))
    unique: dict[Path, int] = {}
    for path, mode in paths:
        unique.setdefault(path.resolve(), mode)
    return list(unique.items())


def permission_warnings(config: Config) -> list[str]:
    warnings = []
    for path, wanted in private_paths(config):
        mode = open_to_others(path)
        if mode is not None:
            warnings.append(_("warning: {path} can be read by other users of this machine (mode {mode:o}); make it "
                              "private with: chmod {wanted:o} {path}").format(path=path, mode=mode, wanted=wanted))
    return warnings


def run(args: argparse.Namespace, context: AppContext) -> int:
    config = context.config
    _say(_("Threadline version: {version}").format(version=__version__))
    _say(_("Configuration file: {path}").format(path=config.source or _("(none; using defaults and environment)")))
    _say(_("Default configuration path: {path} (used when neither --config nor THREADLINE_CONFIG names a file)").format(
        path=default_config_path()))
    for section, values in config.as_dict(mask_secrets=True).items():
        _say(f"[{section}]")
        for key, value in values.items():
            _say(f"  {key} = {value!r}")
    for warning in permission_warnings(config):
        _say(warning)
    links = local_links_warning(config)
    if links:
        _say(links)
    # Before the database's lines, which stay last (scripts read the final one).
    store_ok, store_line = check_blob_store(config.attachments)
    _say(store_line)
    checks = check_database(context.db.engine, context.db.url)
    for check in checks:
        _say(check.line)
    ok = store_ok and all(check.ok for check in checks)
    if getattr(args, "mail", False) and ok:
        from mail.dns_checks import mail_dns_checks, make_resolver  # only --mail needs the DNS library

        with context.db.read_session() as session:
            support_address = SettingsService(session, context.clock).load().support_address
        for mail_check in mail_dns_checks(config, support_address, make_resolver(config.mail.dns_server)):
            _say(("ok: " if mail_check.ok else "problem: ") + mail_check.line)
            ok = ok and mail_check.ok
    return 0 if ok else 1

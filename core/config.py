"""Configuration: one TOML file plus THREADLINE_<SECTION>_<KEY> environment variables, validated once at start-up."""
from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import os
import secrets
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

import platformdirs
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from core.errors import ConfigError
from core.i18n import _
from core.masking import MASK, mask_url_passwords
from core.private_files import make_private_dir

APP_NAME = "threadline"
ENV_PREFIX = "THREADLINE_"
SECRET_KEYS = {"secret", "password", "widget_secret"}


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "threadline.toml"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME))


@dataclass
class GeneralConfig:
    data_dir: str = ""  # default: the user's data dir
    log_level: str = "INFO"
    # Secret for signed tokens; when empty, one is generated once and kept in <data_dir>/secret.key.
    secret: str = ""


@dataclass
class DatabaseConfig:
    url: str = ""  # default: sqlite:///<data_dir>/threadline.db
    # Seconds a write waits for SQLite's write lock (held by another process) before it is refused as busy.
    write_timeout: float = 5.0
    # PostgreSQL connections per process: pool_size kept open, up to max_overflow more under load. A serve process
    # also holds two connections outside the pool (event push, IMAP reader lock), so it uses at most
    # pool_size + max_overflow + 2. SQLite ignores both.
    pool_size: int = 5
    max_overflow: int = 10


@dataclass
class SmtpConfig:
    host: str = "127.0.0.1"
    port: int = 25
    tls: str = "none"  # none | starttls | tls
    username: str = ""
    password: str = ""
    timeout: float = 30.0
    pool_size: int = 4
    ca_file: str = ""  # PEM bundle to verify the server's certificate with; default: the system's
    # The name we give in EHLO; default: this machine's fully qualified name. Receivers compare it with the
    # sending address's reverse DNS, so set it to that name when the machine's own name is private.
    helo_name: str = ""


@dataclass
class ImapConfig:
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 143
    tls: str = "none"  # none | starttls | tls
    username: str = ""
    password: str = ""
    mailbox: str = "INBOX"
    processed_folder: str = ""  # move processed mail here when set
    ca_file: str = ""  # PEM bundle to verify the IMAP server's certificate with; default: the system's
    poll_interval: float = 60.0
    idle_renew: float = 25 * 60.0
    # A dead or half-open connection is noticed within this many seconds: the poller makes a round trip (IDLE
    # renewal or NOOP) at least every keepalive / 2 and gives every answer keepalive / 2 to arrive.
    keepalive: float = 60.0
    # With several serve processes one reads the mailbox; when it dies another takes over within this many seconds.
    leader_timeout: float = 30.0


@dataclass
class MailConfig:
    # Domain for Message-IDs we generate; defaults to the support address's domain.
    message_id_domain: str = ""
    # How the reply address is formed from the support address and a token.
    reply_address_form: str = "{local}+{token}@{domain}"
    recap_count: int = 5
    max_message_bytes: int = 25 * 1024 * 1024
    # No longer used: attachments.max_bytes decides, and a larger file is listed, not a reason to refuse the email.
    # Kept so that existing configuration files still load.
    max_attachment_bytes: int = 10 * 1024 * 1024
    sender_window_seconds: int = 600
    sender_window_max: int = 20
    # Raw sources of inbound emails are cleared this many days after arrival (emails awaiting an agent keep theirs).
    raw_retention_days: int = 90
    # A sender that dies mid-batch leaves its jobs leased this long; at most one batch may then go out twice.
    sender_batch_size: int = 50
    sender_lease_seconds: float = 60.0
    # Accept addresses at special-use domains (support@acme.test, x@host.local) for lab and staging setups.
    allow_special_use_domains: bool = False
    # DKIM signing (all three empty: no signature). Make a key with `threadline dkim generate --selector S`.
    dkim_selector: str = ""
    dkim_private_key_file: str = ""
    dkim_domain: str = ""  # the d= domain; default: the support address's domain
    # The DNS server `doctor --mail` asks ("address" or "address:port"); default: the system's resolver.
    dns_server: str = ""


@dataclass
class WidgetConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""  # e.g. https://support.example.com; default http://host:port
    allowed_origins: list[str] = field(default_factory=list)
    widget_secret: str = ""  # for identify(); default: derived from general.secret
    max_message_chars: int = 10_000
    rate_limit_per_minute: int = 60  # per end-user token
    rate_limit_per_minute_per_address: int = 300  # per client IP address (several people may share one)
    # Peers whose X-Forwarded-For names the client (addresses or CIDRs, as uvicorn's forwarded-allow-ips);
    # loopback by default: the server listens there, and a local reverse proxy is the usual front.
    trusted_proxies: list[str] = field(default_factory=lambda: ["127.0.0.1", "::1"])
    unverified_emails_per_day: int = 3  # notifications per unproven address, across all end users
    return_link_days: int = 30  # each link opens its conversation once, within this many days
    session_days: int = 90  # a widget token older than this is refused; the widget renews it on every visit
    # Peers that may GET /metrics (addresses or CIDRs), and only directly: a request through a reverse proxy (with
    # X-Forwarded-For or Forwarded) is refused. An empty list turns /metrics off.
    metrics_allow: list[str] = field(default_factory=lambda: ["127.0.0.1", "::1"])
    # Help-center articles are suggested after the first message when no agent is online, or when the expected
    # wait is at least this long.
    suggest_articles_after_wait_seconds: int = 120


@dataclass
class AttachmentsConfig:
    # Largest file accepted (widget, API, console and inbound email); larger ones are refused or listed.
    max_bytes: int = 10 * 1024 * 1024
    # How long a signed download link (in the widget's transcript and in notification emails) stays valid.
    link_days: int = 7
    # Where new files' bytes go: "database" (attachment_blob.content) or "s3" (an S3-compatible bucket; needs boto3,
    # pip install 'threadline[s3]'). Credentials come from the standard AWS chain (environment, ~/.aws, roles).
    store: str = "database"
    s3_endpoint: str = ""  # empty: AWS itself; else e.g. https://minio.example:9000
    s3_bucket: str = ""
    s3_prefix: str = "attachments/"  # object key: prefix + the file's SHA-256
    s3_region: str = ""  # empty: from the AWS chain


@dataclass
class ConsoleConfig:
    bell: bool = False
    agent: str = ""


@dataclass
class Config:
    general: GeneralConfig = field(default_factory=GeneralConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    imap: ImapConfig = field(default_factory=ImapConfig)
    mail: MailConfig = field(default_factory=MailConfig)
    widget: WidgetConfig = field(default_factory=WidgetConfig)
    console: ConsoleConfig = field(default_factory=ConsoleConfig)
    attachments: AttachmentsConfig = field(default_factory=AttachmentsConfig)
    source: str = ""  # the file it was read from, if any

    @property
    def mail_configured(self) -> bool:
        """Whether mail can flow both ways: an SMTP host to send and IMAP polling to receive."""
        return bool(self.smtp.host) and self.imap.enabled

    @property
    def data_path(self) -> Path:
        return Path(self.general.data_dir).expanduser() if self.general.data_dir else default_data_dir()

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_path / 'threadline.db'}"

    def secret(self) -> str:
        """The token secret: configured, else kept in <data_dir>/secret.key (created once, mode 0600)."""
        if self.general.secret:
            return self.general.secret
        path = self.data_path / "secret.key"
        if not path.exists():
            make_private_dir(path.parent)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(32))
        return path.read_text().strip()

    def secret_values(self) -> list[str]:
        """Every secret this configuration holds (for core.masking): passwords, also inside the database URL, the
        token secret (configured or kept in secret.key, which is read but never created here) and the widget secret."""
        values = [self.general.secret, self.smtp.password, self.imap.password, self.widget.widget_secret]
        # A URL that does not parse is masked by its shape (core.masking.mask_url_passwords).
        with contextlib.suppress(ArgumentError, ValueError):  # what make_url raises for a string that is no URL
            values.append(make_url(self.database_url).password or "")
        key_file = self.data_path / "secret.key"
        if not self.general.secret and key_file.is_file():
            try:
                values.append(key_file.read_text().strip())
            except OSError:
                pass
        return [value for value in values if value]

    def as_dict(self, mask_secrets: bool = True) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = {}
        for section in _sections():
            values = dataclasses.asdict(getattr(self, section.name))
            if mask_secrets:
                values = {k: (MASK if k in SECRET_KEYS and v else _masked(v)) for k, v in values.items()}
            result[section.name] = values
        result["database"]["effective_url"] = _masked(self.database_url) if mask_secrets else self.database_url
        return result


def _masked(value: Any) -> Any:
    """A configuration value as shown to people: passwords inside URLs (database.url) replaced by ****."""
    return mask_url_passwords(value) if isinstance(value, str) else value


def _sections() -> list[dataclasses.Field[Any]]:
    return [f for f in fields(Config) if f.name != "source"]


def _coerce(value: Any, kind: Any, where: str) -> Any:
    kind_name = getattr(kind, "__name__", str(kind))
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
            return value.strip().lower() in {"1", "true", "yes", "on"}
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if kind is int or kind is float:
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        try:
            return kind(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a {kind_name}, got {value!r}") from None
    if kind is str:
        if not isinstance(value, (str, int, float)):
            raise ConfigError(f"{where}: expected text, got {value!r}")
        return str(value)
    if str(kind).startswith("list"):
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        if isinstance(value, list):
            return [str(item) for item in value]
        raise ConfigError(f"{where}: expected a list, got {value!r}")
    return value


def _apply(config: Config, section_name: str, key: str, value: Any, where: str) -> None:
    section = getattr(config, section_name)
    hints = get_type_hints(type(section))
    if key not in hints:
        known = ", ".join(sorted(hints))
        raise ConfigError(f"{where}: unknown key {section_name}.{key}; known keys: {known}")
    setattr(section, key, _coerce(value, hints[key], where))


def load_config(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Config:
    """Read the TOML file (path, else THREADLINE_CONFIG, else the default; a missing default is fine), then the
    environment."""
    environ = dict(os.environ if environ is None else environ)
    config = Config()
    explicit = path or environ.get(f"{ENV_PREFIX}CONFIG")
    config_path = Path(explicit).expanduser() if explicit else default_config_path()
    if config_path.exists():
        try:
            document = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                f"{config_path}: not valid TOML ({exc}); fix the file or point --config elsewhere"
            ) from exc
        section_names = {s.name for s in _sections()}
        for section_name, values in document.items():
            if section_name not in section_names or not isinstance(values, dict):
                known = ", ".join(sorted(section_names))
                raise ConfigError(f"{config_path}: unknown section [{section_name}]; known sections: {known}")
            for key, value in values.items():
                _apply(config, section_name, key, value, f"{config_path} [{section_name}] {key}")
        config.source = str(config_path)
    elif explicit:
        raise ConfigError(f"config file {config_path} does not exist; create it or drop --config/THREADLINE_CONFIG")
    for variable, value in sorted(environ.items()):
        if not variable.startswith(ENV_PREFIX) or variable in (f"{ENV_PREFIX}CONFIG", f"{ENV_PREFIX}LANGUAGE"):
            continue
        rest = variable[len(ENV_PREFIX):].lower()
        for section in _sections():
            if rest.startswith(section.name + "_"):
                _apply(config, section.name, rest[len(section.name) + 1:], value, f"environment variable {variable}")
                break
    _validate(config)
    return config


def _validate(config: Config) -> None:
    for name, section in (("smtp", config.smtp), ("imap", config.imap)):
        if section.tls not in ("none", "starttls", "tls"):
            raise ConfigError(f"{name}.tls must be none, starttls or tls, not {section.tls!r}")
        if not 0 < section.port < 65536:
            raise ConfigError(f"{name}.port must be between 1 and 65535, not {section.port}")
    if not 0 < config.database.write_timeout <= 300:
        raise ConfigError(_("database.write_timeout must be more than 0 and at most 300 seconds, not {value}; "
                            "the default is 5").format(value=config.database.write_timeout))
    if not 0 < config.imap.leader_timeout <= 3600:
        raise ConfigError(_("imap.leader_timeout must be more than 0 and at most 3600 seconds, not {value}; "
                            "the default is 30").format(value=config.imap.leader_timeout))
    if config.database.pool_size < 1 or config.database.max_overflow < 0:
        raise ConfigError(_("database.pool_size must be at least 1 and database.max_overflow at least 0, not {size} "
                            "and {overflow}; the defaults are 5 and 10").format(
            size=config.database.pool_size, overflow=config.database.max_overflow))
    if config.imap.keepalive < 1:
        raise ConfigError(_("imap.keepalive must be at least 1 (seconds), not {value}; the default is 60").format(
            value=config.imap.keepalive))
    if config.mail.raw_retention_days < 1:
        raise ConfigError(_("mail.raw_retention_days must be at least 1, not {value}").format(
            value=config.mail.raw_retention_days))
    if config.attachments.max_bytes < 1:
        raise ConfigError(_("attachments.max_bytes must be at least 1, not {value}; the default is 10485760 "
                            "(10 MB)").format(value=config.attachments.max_bytes))
    if config.attachments.link_days < 1:
        raise ConfigError(_("attachments.link_days must be at least 1, not {value}; the default is 7").format(
            value=config.attachments.link_days))
    if config.attachments.store not in ("database", "s3"):
        raise ConfigError(_("attachments.store must be database or s3, not {value!r}; the default is database").format(
            value=config.attachments.store))
    if config.attachments.store == "s3" and not config.attachments.s3_bucket:
        raise ConfigError(_("attachments.store is s3 but attachments.s3_bucket is empty; set the bucket's name "
                            "(THREADLINE_ATTACHMENTS_S3_BUCKET) or set attachments.store back to database"))
    for entry in config.widget.trusted_proxies:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigError(f"widget.trusted_proxies: {entry!r} is not an IP address or network; use e.g. "
                              "127.0.0.1, 10.0.0.0/8 or ::1") from None
    if config.general.secret and len(config.general.secret) < 16:
        raise ConfigError("general.secret must be at least 16 characters; generate one with: "
                          "python -c 'import secrets; print(secrets.token_urlsafe(32))'")

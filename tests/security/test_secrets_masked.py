"""Finding 4: `doctor`, errors and logs never show a secret: passwords (also inside URLs) and the token and widget
secrets are masked wherever a person or a log collector could read them."""
from __future__ import annotations

import subprocess
import sys

from tests.core.test_cli_and_schema import run_cli
from tests.system.processes import ROOT

SECRETS = {
    "THREADLINE_DATABASE_URL": ("postgresql+psycopg://threadline:Pg-pass-7731@127.0.0.1:1/threadline", "Pg-pass-7731"),
    "THREADLINE_SMTP_PASSWORD": ("smtp-pass-5521", "smtp-pass-5521"),
    "THREADLINE_IMAP_PASSWORD": ("imap-pass-9902", "imap-pass-9902"),
    "THREADLINE_GENERAL_SECRET": ("token-secret-0123456789abcdef", "token-secret-0123456789abcdef"),
    "THREADLINE_WIDGET_WIDGET_SECRET": ("widget-secret-4477", "widget-secret-4477"),
}


def _leaks(text: str) -> list[str]:
    return [secret for _value, secret in SECRETS.values() if secret in text]


def test_doctor_masks_every_secret_including_the_database_password(tmp_path):
    env = {name: value for name, (value, _secret) in SECRETS.items()}
    doctor = run_cli("doctor", data_dir=tmp_path, extra_env=env)
    output = doctor.stdout + doctor.stderr
    assert doctor.returncode == 1  # nothing listens on port 1
    assert _leaks(output) == [], output
    assert "postgresql+psycopg://threadline:****@127.0.0.1:1/threadline" in output


def test_errors_of_every_command_mask_the_database_password(tmp_path):
    for url in ("postgresql+psycopg://threadline:Pg-pass-7731@127.0.0.1:1/threadline",
                "postgresql+psycopg://threadline:Pg-pass-7731@127.0.0.1:port/threadline"):  # a URL that does not parse
        for command in (["serve", "--port", "0"], ["init"], ["agent", "list"]):
            done = run_cli(*command, data_dir=tmp_path, extra_env={"THREADLINE_DATABASE_URL": url})
            output = done.stdout + done.stderr
            assert done.returncode != 0 and "Pg-pass-7731" not in output, (command, output)
            assert "Traceback" not in output, output


def test_log_lines_mask_secrets_the_configuration_holds(tmp_path):
    """A log record that carries a secret (a driver's error quoting a URL, a debug line) is masked on its way out."""
    script = """
import logging, sys
from threadline.cli import main
from threadline.structured_logs import configure_logging
import threadline.commands.doctor as doctor

def run(args, context):
    configure_logging("keyvalue")
    log = logging.getLogger("probe")
    log.warning("connecting to %s", context.config.database.url)
    log.error("login refused", extra={"password": context.config.smtp.password, "token": context.config.general.secret})
    try:
        raise RuntimeError("widget secret " + context.config.widget.widget_secret + " rejected")
    except RuntimeError:
        log.exception("failure with %s", context.config.imap.password)
    return 0

doctor.run = run
sys.exit(main(["doctor"]))
"""
    env = {name: value for name, (value, _secret) in SECRETS.items()}
    import os

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    full_env.update(env, HOME=str(tmp_path), THREADLINE_GENERAL_DATA_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=full_env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert _leaks(done.stderr) == [], done.stderr
    assert "threadline:****@127.0.0.1" in done.stderr and done.stderr.count("****") >= 5, done.stderr
    assert "RuntimeError" in done.stderr  # the traceback is still there, only the secret is gone

"""`threadline serve`: the widget server, notification scheduler, sender and IMAP poller in one process, until
SIGTERM."""
from __future__ import annotations

import argparse
import logging

from sqlalchemy.exc import OperationalError

from core import schema
from core.errors import ConfigError
from core.i18n import _
from threadline import event_loop
from threadline.context import AppContext
from threadline.public_links import local_links_refusal
from threadline.structured_logs import configure_logging

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "serve", help=_("run the widget server and the mail workers"),
        description=_("Run the widget server, the notification scheduler, the email sender and (when imap.enabled) "
                      "the IMAP poller until SIGTERM or Ctrl-C, which stop them gracefully: emails already handed "
                      "to the SMTP server are recorded before the process exits. Several serve processes may share "
                      "one PostgreSQL database. GET /healthz on the widget server (not with --no-widget) reports the "
                      "database and the workers."),
    )
    parser.add_argument("--host", help=_("address to listen on (default: widget.host)"))
    parser.add_argument("--port", type=int, help=_("port to listen on, 0 for any free port (default: widget.port)"))
    parser.add_argument("--log-format", choices=["keyvalue", "json"], default="keyvalue",
                        help=_("log lines as key=value pairs or JSON objects"))
    parser.add_argument("--no-widget", action="store_true", help=_("run only the mail workers, no web server"))
    parser.add_argument("--allow-local-links", action="store_true",
                        help=_("start even though widget.public_url is empty and the widget listens beyond loopback "
                               "(emails then link to http://HOST:PORT)"))
    parser.add_argument("--worker-id", help=_("name of this process in leases and logs (default: host:pid:random)"))
    return parser


def run(args: argparse.Namespace, context: AppContext) -> int:
    configure_logging(args.log_format)
    try:
        revision = schema.current_revision(context.db.engine)
    except OperationalError as exc:
        raise ConfigError(_("Cannot reach the database {url} ({error}); check database.url and that the server "
                            "runs.").format(url=context.db.url, error=str(exc.orig).strip())) from exc
    if revision is None:
        raise ConfigError(_("The database {url} is empty; create it first with: threadline init").format(
            url=context.db.url))
    widget = context.config.widget
    host = args.host or widget.host
    refusal = local_links_refusal(context.config, host, args.allow_local_links)
    if refusal:
        raise ConfigError(refusal)
    # Here, not at the top: the server's parts are the heaviest imports, and every other command would load them.
    from threadline import parts
    from threadline.runtime import Runtime

    runtime = Runtime(context, app=None if args.no_widget else parts.widget_app(context),
                      workers=parts.workers(context, worker_id=args.worker_id),
                      host=host, port=widget.port if args.port is None else args.port)
    try:
        return event_loop.run(runtime.run())
    finally:
        context.db.dispose()

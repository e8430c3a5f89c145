"""`threadline end-user export EMAIL|ID [--output FILE]` and `threadline end-user erase EMAIL|ID --yes`:
data-protection requests."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.data_requests import DataRequestService
from core.errors import InvalidInput
from core.i18n import _
from core.private_files import write_private_file
from threadline.context import AppContext

# Who asked, in the audit event: the command line (an operator with access to the configuration).
REQUESTED_BY = "cli"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "end-user", help=_("export or erase everything held about one end user"),
        description=_("Answer data-protection requests: export everything held about an end user as JSON, or "
                      "erase it. Name the end user by email address, numeric id or public id."),
    )
    actions = parser.add_subparsers(dest="end_user_command", metavar=_("ACTION"), required=True)
    export = actions.add_parser(
        "export", help=_("write everything held about the end user as JSON"),
        description=_("Write the end user's profile, proven addresses, conversations and their messages, inbound "
                      "emails with their raw sources (base64), outbox jobs and events as one JSON document."))
    export.add_argument("who", metavar="EMAIL|ID", help=_("the end user's email address, id or public id"))
    export.add_argument("--output", metavar="FILE", default=None,
                        help=_("write to FILE (mode 0600) instead of standard output"))
    erase = actions.add_parser(
        "erase", help=_("erase the end user's data in one transaction"),
        description=_("In one transaction: replace the end user's messages with a marker, delete inbound emails "
                      "from them with their raw sources, forget their name and email addresses, end their widget "
                      "sessions, strip addresses and content from their outbox jobs and events, and record an "
                      "audit event without personal data. This cannot be undone."))
    erase.add_argument("who", metavar="EMAIL|ID", help=_("the end user's email address, id or public id"))
    erase.add_argument("--yes", action="store_true", help=_("confirm the erasure (required: it cannot be undone)"))
    return parser


def run(args: argparse.Namespace, context: AppContext) -> int:
    with context.db.session() as session:
        service = DataRequestService(session, context.clock)
        end_user = service.find(args.who)
        end_user_id = int(end_user.id or 0)
        if args.end_user_command == "export":
            document = json.dumps(service.export(end_user_id), indent=2, ensure_ascii=False) + "\n"
            service.record_export(end_user_id, REQUESTED_BY)
            if args.output:
                write_private_file(Path(args.output), document)
                print(_("Wrote everything held about end user {id} to {path}.").format(id=end_user_id,
                                                                                     path=args.output))
            else:
                sys.stdout.write(document)
            return 0
        if not args.yes:
            raise InvalidInput(_("erasing end user {id} cannot be undone; run again with --yes to confirm (export "
                                 "first with: threadline end-user export {id} --output FILE)").format(id=end_user_id))
        summary = service.erase(end_user_id, REQUESTED_BY)
    print(_("Erased end user {id}: {messages} messages replaced by a marker, {inbound} inbound emails deleted, "
            "{jobs} outbox jobs and {events} events stripped of personal data.").format(
                id=end_user_id, messages=summary.messages_erased, inbound=summary.inbound_emails_deleted,
                jobs=summary.outbox_jobs_anonymised, events=summary.events_scrubbed))
    return 0

"""Builds the parts `serve` and `demo` run from an AppContext: the widget app and the mail workers."""
from __future__ import annotations

import logging
from typing import Any

from core.reader_lock import ReaderLock, mailbox_key
from mail.elected_poller import ElectedPoller
from mail.outbound import OutboundMail
from mail.poller import build_poller
from mail.sender import default_worker_id
from threadline.context import AppContext
from threadline.runtime import Worker
from widget.app import create_app

log = logging.getLogger(__name__)


def widget_app(context: AppContext) -> Any:
    return create_app(context.config, context.db, context.clock, context.signer)


def outbound_worker(context: AppContext, worker_id: str | None = None) -> OutboundMail:
    """Scheduler and sender; batch size and lease length come from [mail] so a crash costs at most one batch."""
    outbound = OutboundMail(context.db, context.config, context.signer, context.clock,
                            worker_id=worker_id or default_worker_id())
    outbound.sender.batch_size = max(1, context.config.mail.sender_batch_size)
    outbound.sender.lease_seconds = max(1.0, context.config.mail.sender_lease_seconds)
    return outbound


def inbound_worker(context: AppContext) -> Worker:
    """The IMAP poller (mail.poller), which files replies into their conversations, in the one process per mailbox
    that holds its reader lock (the others stand by and take over within imap.leader_timeout)."""
    imap = context.config.imap
    lock = ReaderLock(context.db.engine, mailbox_key(imap.host, imap.port, imap.username, imap.mailbox or "INBOX"),
                      imap.leader_timeout)
    return ElectedPoller(lambda: build_poller(context.db, context.config, context.clock, context.signer), lock,
                         imap.leader_timeout)


def workers(context: AppContext, *, worker_id: str | None = None) -> dict[str, Worker]:
    """Every mail worker the configuration asks for, by name (the names /healthz reports)."""
    parts: dict[str, Worker] = {"outbound": outbound_worker(context, worker_id)}
    if context.config.imap.enabled:
        parts["inbound"] = inbound_worker(context)
    return parts

"""Prometheus counters of this process's mail workers: emails sent, failed and bounced, inbound emails by outcome,
and whether the IMAP poller holds a session. Registered in prometheus_client's default registry, which the widget
server's /metrics renders; each process counts its own (Prometheus sums the processes it scrapes)."""
from __future__ import annotations

from prometheus_client import Counter, Gauge

from core.models import InboundEmail, InboundOutcome, OutboxStatus
from core.outbox import SendOutcome

EMAILS = Counter("threadline_emails", "Notification emails handled by this process, by result: sent, failed (for "
                 "good), retried (a temporary failure) and bounced (a bounce report filed from the mailbox)",
                 ["result"])
INBOUND_EMAILS = Counter("threadline_inbound_emails", "Inbound emails this process filed, by outcome", ["outcome"])
IMAP_CONNECTED = Gauge("threadline_imap_connected", "1 while this process's IMAP poller is logged in and has its "
                       "mailbox selected, else 0")

for _result in ("sent", "failed", "retried", "bounced"):
    EMAILS.labels(result=_result)  # present at 0 from the start, so rate() and alerts see the series
for _outcome in InboundOutcome:
    INBOUND_EMAILS.labels(outcome=_outcome.value)


def count_send_outcomes(outcomes: list[SendOutcome]) -> None:
    """Count recorded send results; a released job (the server failed, not the email) is not an attempt."""
    for outcome in outcomes:
        if outcome.release:
            continue
        if outcome.status == OutboxStatus.sent:
            EMAILS.labels(result="sent").inc()
        elif outcome.status == OutboxStatus.failed:
            EMAILS.labels(result="failed").inc()
        else:
            EMAILS.labels(result="retried").inc()


def count_filed(record: InboundEmail) -> None:
    INBOUND_EMAILS.labels(outcome=InboundOutcome(record.outcome).value).inc()
    if record.outcome == InboundOutcome.bounce:
        EMAILS.labels(result="bounced").inc()

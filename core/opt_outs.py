"""Email opt-outs (RFC 8058 one-click and the unsubscribe mailto): per address, honoured by the notification claim.

An address that stopped notifications gets no outbox job until the person lifts the stop: by writing to support
again, or by turning emails back on (the widget, or the undo on the unsubscribe page). The unsubscribe token is
signed, not stored, and names the outbox job whose email carried it, so it reveals nothing by itself.
"""
from __future__ import annotations

from sqlmodel import Session, col, select

from core.clock import Clock
from core.event_kinds import EventKind
from core.events import record_event
from core.models import EmailOptOut, OptOutSource, OutboxJob
from core.tokens import InvalidToken, TokenSigner
from core.transactions import transactional

UNSUBSCRIBE = "unsubscribe"  # the token purpose: an unsubscribe token never passes for another kind


def unsubscribe_token(signer: TokenSigner, job_id: int) -> str:
    """The token in the List-Unsubscribe link and mailto of the email for outbox job job_id."""
    return signer.sign(UNSUBSCRIBE, job_id)


def job_of_unsubscribe_token(signer: TokenSigner, token: str) -> int:
    """The outbox job whose email carried token; raises InvalidToken."""
    return signer.verify(UNSUBSCRIBE, token, 1)[0]


class OptOutService:
    """Stops, lifts and reads opt-outs; each change is one transaction and one event."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def get(self, address: str) -> EmailOptOut | None:
        return self.session.get(EmailOptOut, address.strip().lower())

    def stopped_among(self, addresses: set[str]) -> set[str]:
        """Which of addresses (lowercased) stopped notifications, in one query."""
        keys = {address.lower() for address in addresses if address}
        if not keys:
            return set()
        return set(self.session.exec(select(EmailOptOut.address_key).where(col(EmailOptOut.address_key).in_(keys))))

    def address_of_token(self, signer: TokenSigner, token: str) -> tuple[int, str] | None:
        """The job and the address an unsubscribe token stands for, or None when the token or its job is unknown."""
        try:
            job_id = job_of_unsubscribe_token(signer, token)
        except InvalidToken:
            return None
        job = self.session.get(OutboxJob, job_id)
        if job is None or not job.to_address:
            return None
        return job_id, job.to_address

    @transactional
    def stop(self, address: str, source: OptOutSource, job_id: int | None = None) -> EmailOptOut:
        """Stop notifications to address; stopping again keeps the first record (the request is idempotent)."""
        existing = self.get(address)
        if existing is not None:
            return existing
        now = self.clock.now()
        opt_out = EmailOptOut(address_key=address.strip().lower(), address=address.strip(), stopped_at=now,
                              source=source.value, job_id=job_id)
        self.session.add(opt_out)
        conversation_id = None
        if job_id is not None:
            job = self.session.get(OutboxJob, job_id)
            conversation_id = job.conversation_id if job is not None else None
        record_event(self.session, now, EventKind.email_opted_out, conversation_id, source=source.value, job_id=job_id)
        self.session.flush()
        return opt_out

    @transactional
    def lift(self, address: str, reason: str) -> bool:
        """Let notifications reach address again; reason says who lifted it ("inbound", "widget", "undo")."""
        existing = self.get(address)
        if existing is None:
            return False
        self.session.delete(existing)
        record_event(self.session, self.clock.now(), EventKind.email_opt_out_lifted, None, reason=reason)
        self.session.flush()
        return True

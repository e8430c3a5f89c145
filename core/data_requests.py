"""Data-protection requests about one end user: everything held about them as JSON, and erasure in one transaction."""
from __future__ import annotations

import base64
import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_
from sqlmodel import Session, SQLModel, col, select

from core.addresses import normalize_email
from core.attachments import AttachmentService
from core.clock import Clock
from core.end_users import EndUserService
from core.errors import InvalidInput, NotFound
from core.event_kinds import EventKind
from core.events import record_event
from core.i18n import _
from core.models import (
    Activity,
    Attachment,
    AuthorKind,
    Conversation,
    EmailOptOut,
    EndUser,
    Event,
    InboundEmail,
    Message,
    OutboxJob,
    Rating,
    SenderWindow,
    VerifiedAddress,
    row_id,
)
from core.transactions import transactional

EXPORT_FORMAT = 1
# What an erased end user's messages say from then on; stored data, read by agents of any language, so one fixed
# English text (the console shows it like any other message body).
ERASED_MARKER = "[erased at the end user's request]"
# Event payload keys that may hold what a person wrote or an address; erasure drops them from that person's events.
PERSONAL_EVENT_KEYS = frozenset({"sender", "error", "reason", "email", "address", "name", "subject", "body", "text",
                                 "to", "to_address"})


@dataclass(frozen=True)
class ErasureSummary:
    """What one erasure changed (counts only: the audit event carries exactly this)."""

    end_user_id: int
    conversations: int
    messages_erased: int
    inbound_emails_deleted: int
    outbox_jobs_anonymised: int
    events_scrubbed: int
    attachments_deleted: int = 0

    def as_payload(self) -> dict[str, int]:
        return {"end_user_id": self.end_user_id, "conversations": self.conversations,
                "messages_erased": self.messages_erased, "inbound_emails_deleted": self.inbound_emails_deleted,
                "outbox_jobs_anonymised": self.outbox_jobs_anonymised, "events_scrubbed": self.events_scrubbed,
                "attachments_deleted": self.attachments_deleted}


def _plain(row: SQLModel) -> dict[str, Any]:
    """A row as JSON-ready values: times in ISO 8601, enums by value, bytes in base64."""
    result: dict[str, Any] = {}
    for key, value in row.model_dump().items():
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, bytes):
            key, value = f"{key}_base64", base64.b64encode(value).decode("ascii")
        result[key] = value
    return result


class DataRequestService:
    """Export and erasure for one end user, found by email address, numeric id or public id."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def find(self, key: str) -> EndUser:
        """The end user key names: an id (digits), a public id, or an email address (exactly one end user)."""
        key = key.strip()
        if key.isdigit():
            found = self.session.get(EndUser, int(key))
            if found is None:
                raise NotFound(_("There is no end user with id {id}.").format(id=key))
            return found
        if "@" not in key:
            by_public = self.session.exec(select(EndUser).where(EndUser.public_id == key)).first()
            if by_public is None:
                raise NotFound(_("There is no end user with id {id}.").format(id=key))
            return by_public
        address = normalize_email(key)
        # Mailboxes are matched without regard to case, as mail servers in practice deliver them.
        proven = select(VerifiedAddress.end_user_id).where(func.lower(VerifiedAddress.address) == address.lower())
        matches = list(self.session.exec(select(EndUser).where(
            or_(func.lower(EndUser.email) == address.lower(), col(EndUser.id).in_(proven))).order_by(col(EndUser.id))))
        if not matches:
            raise NotFound(_("No end user has the email address {address}.").format(address=address))
        if len(matches) > 1:
            raise InvalidInput(_("Several end users have the email address {address} (ids {ids}); name one by its "
                                 "id.").format(address=address, ids=", ".join(str(row_id(m)) for m in matches)))
        return matches[0]

    # --- export ------------------------------------------------------------------------------------------------
    def export(self, end_user_id: int) -> dict[str, Any]:
        """Everything held about the end user: profile, proven addresses, conversations with all their messages,
        inbound emails (raw sources in base64), outbox jobs, events and an opt-out of their address."""
        end_user = self._get(end_user_id)
        conversation_ids = self._conversation_ids(end_user_id)
        addresses = self._addresses(end_user)
        messages = self.session.exec(select(Message).where(col(Message.conversation_id).in_(conversation_ids))
                                     .order_by(col(Message.conversation_id), col(Message.seq)))
        opt_outs = self.session.exec(select(EmailOptOut).where(col(EmailOptOut.address_key).in_(addresses)))
        return {
            "format": EXPORT_FORMAT,
            "exported_at": self.clock.now().isoformat(),
            "end_user": _plain(end_user),
            "verified_addresses": [_plain(row) for row in self.session.exec(
                select(VerifiedAddress).where(VerifiedAddress.end_user_id == end_user_id))],
            "conversations": [_plain(row) for row in self.session.exec(
                select(Conversation).where(col(Conversation.id).in_(conversation_ids)).order_by(col(Conversation.id)))],
            "messages": [_plain(row) for row in messages],
            "inbound_emails": [_plain(row) for row in self._inbound(conversation_ids, addresses)],
            "outbox_jobs": [_plain(row) for row in self._outbox(conversation_ids, addresses)],
            "events": [_plain(row) for row in self._events(end_user_id, conversation_ids, addresses)],
            "email_opt_outs": [_plain(row) for row in opt_outs],
            # Files are listed (name, type, size, hash), not inlined: the export stays readable; the bytes are
            # downloadable from the conversation as long as they are kept.
            "attachments": [_plain(row) for row in self.session.exec(
                select(Attachment).where(col(Attachment.conversation_id).in_(conversation_ids))
                .order_by(col(Attachment.id)))],
            "ratings": [_plain(row) for row in self.session.exec(
                select(Rating).where(col(Rating.conversation_id).in_(conversation_ids)))],
        }

    @transactional
    def record_export(self, end_user_id: int, by: str) -> None:
        """An audit entry that an export was made (who asked is an agent handle or "cli"; no personal data)."""
        self._get(end_user_id)
        record_event(self.session, self.clock.now(), EventKind.end_user_exported, None, end_user_id=end_user_id,
                     by=by)

    # --- erasure -----------------------------------------------------------------------------------------------
    @transactional
    def erase(self, end_user_id: int, by: str) -> ErasureSummary:
        """Remove or anonymise everything about the end user, all or nothing.

        Their messages keep their place (seq, time, channel; the conversation still reads in order for the agents)
        but their text becomes ERASED_MARKER; inbound emails linked to them or sent from their addresses are deleted
        with their raw sources; name, email, external id, time zone and proven addresses are forgotten and their
        widget sessions end; outbox jobs keep their status for the statistics but lose address and content; their
        events lose the payload keys that can hold personal data; the files in their conversations (and the bytes no
        one else shares), what they were typing and their rating comments are deleted. An email opt-out of their
        address stays, so a later conversation started with the same address still gets no email it refused. One
        audit event records the counts, never the person.
        """
        end_user = self._get(end_user_id)
        now = self.clock.now()
        conversation_ids = self._conversation_ids(end_user_id)
        addresses = self._addresses(end_user)

        erased = 0
        for message in self.session.exec(select(Message).where(
                or_(col(Message.author_end_user_id) == end_user_id,
                    (col(Message.conversation_id).in_(conversation_ids))
                    & (col(Message.author_kind) == AuthorKind.end_user)))):
            message.body, message.meta, message.email_message_id = ERASED_MARKER, None, None
            self.session.add(message)
            erased += 1
        inbound = list(self._inbound(conversation_ids, addresses))
        for row in inbound:
            self.session.delete(row)
        jobs = list(self._outbox(conversation_ids, addresses))
        for job in jobs:
            job.to_address, job.address_key, job.payload, job.last_error = "", "", None, None
            self.session.add(job)
        scrubbed = 0
        for event in self._events(end_user_id, conversation_ids, addresses):
            kept = {key: value for key, value in event.payload.items() if key not in PERSONAL_EVENT_KEYS}
            if kept != event.payload:
                event.payload = kept
                self.session.add(event)
                scrubbed += 1
        for conversation in self.session.exec(select(Conversation).where(col(Conversation.id).in_(conversation_ids))):
            conversation.notify_email = None
            self.session.add(conversation)
        self.session.execute(delete(VerifiedAddress).where(col(VerifiedAddress.end_user_id) == end_user_id))
        # Files (and the bytes nobody else shares), what they were typing (the typing preview), and rating comments.
        attachments = AttachmentService(self.session, self.clock).delete_attachments_of_end_user(end_user_id)
        self.session.execute(delete(Activity).where(col(Activity.conversation_id).in_(conversation_ids),
                                                    col(Activity.participant) == "end_user"))
        for rating in self.session.exec(select(Rating).where(col(Rating.conversation_id).in_(conversation_ids))):
            rating.comment = None
            self.session.add(rating)
        if addresses:
            self.session.execute(delete(SenderWindow).where(func.lower(SenderWindow.sender).in_(addresses)))
        end_user.name = end_user.email = end_user.external_id = end_user.timezone = None
        end_user.email_verified = end_user.email_failing = False
        end_user.sessions_valid_after = now
        self.session.add(end_user)
        self.session.flush()
        summary = ErasureSummary(end_user_id=end_user_id, conversations=len(conversation_ids), messages_erased=erased,
                                 inbound_emails_deleted=len(inbound), outbox_jobs_anonymised=len(jobs),
                                 events_scrubbed=scrubbed, attachments_deleted=attachments)
        record_event(self.session, now, EventKind.end_user_erased, None, by=by, **summary.as_payload())
        return summary

    # --- what belongs to the end user --------------------------------------------------------------------------
    def _get(self, end_user_id: int) -> EndUser:
        return EndUserService(self.session, self.clock).get(end_user_id)

    def _conversation_ids(self, end_user_id: int) -> list[int]:
        return [int(i) for i in self.session.exec(
            select(Conversation.id).where(Conversation.end_user_id == end_user_id)) if i is not None]

    def _addresses(self, end_user: EndUser) -> list[str]:
        """Their current address and every address they proved, in lower case (compared with lower(column))."""
        found = {row.address.lower() for row in self.session.exec(
            select(VerifiedAddress).where(VerifiedAddress.end_user_id == row_id(end_user)))}
        if end_user.email:
            found.add(end_user.email.lower())
        return sorted(found)

    def _inbound(self, conversation_ids: list[int], addresses: list[str]) -> list[InboundEmail]:
        condition = or_(col(InboundEmail.conversation_id).in_(conversation_ids),
                        func.lower(InboundEmail.sender).in_(addresses))
        return list(self.session.exec(select(InboundEmail).where(condition).order_by(col(InboundEmail.id))))

    def _outbox(self, conversation_ids: list[int], addresses: list[str]) -> list[OutboxJob]:
        condition = or_(col(OutboxJob.conversation_id).in_(conversation_ids),
                        func.lower(OutboxJob.to_address).in_(addresses))
        return list(self.session.exec(select(OutboxJob).where(condition).order_by(col(OutboxJob.id))))

    def _events(self, end_user_id: int, conversation_ids: list[int], addresses: list[str]) -> list[Event]:
        """Events of their conversations, and conversation-less ones naming them (by id or address) in the payload;
        the payload is JSON, so the second kind is matched here rather than in SQL (portable across databases)."""
        in_conversations = list(self.session.exec(
            select(Event).where(col(Event.conversation_id).in_(conversation_ids)).order_by(col(Event.id))))
        naming = []
        for event in self.session.exec(select(Event).where(col(Event.conversation_id).is_(None))
                                       .order_by(col(Event.id))):
            payload = event.payload or {}
            if payload.get("end_user_id") == end_user_id or str(payload.get("sender", "")).lower() in addresses:
                naming.append(event)
        return sorted([*in_conversations, *naming], key=lambda event: row_id(event))

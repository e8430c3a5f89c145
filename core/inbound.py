"""Inbound email records, per-mailbox IMAP progress and sender rate limits; filing one email is one transaction."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, not_, update
from sqlmodel import Session, col, select

from core.addresses import normalize_email
from core.attachments import DEFAULT_MAX_BYTES, AttachmentService, CheckedFile
from core.clock import Clock
from core.conversations import ConversationService
from core.db import rows_changed
from core.email_files import EmailFile, files_of_raw_email
from core.errors import InvalidInput, InvalidTransition, NotFound, ThreadlineError
from core.event_kinds import EventKind, inbound_kind
from core.events import record_event
from core.i18n import _
from core.identity import PROOF_REPLY, IdentityService, same_address
from core.models import (
    MAX_INBOUND_SUBJECT_CHARS,
    AuthorKind,
    Channel,
    Conversation,
    EndUser,
    HeldStatus,
    InboundDecision,
    InboundEmail,
    InboundOutcome,
    MailboxState,
    Message,
    OptOutSource,
    OutboxJob,
    SenderWindow,
    row_id,
)
from core.opt_outs import OptOutService
from core.outbox import OutboxService
from core.text import MAX_BODY_CHARS, without_control_characters
from core.transactions import transactional

RATE_LIMIT_SECONDS = 3600  # how long a sender over the window limit stays held


# Outcomes that leave an email waiting on the Mail screen until an agent posts or discards it.
AWAITING_AGENT = (InboundOutcome.held, InboundOutcome.refused, InboundOutcome.auto_reply, InboundOutcome.bounce)
# Every email keeps its raw source (until mail.raw_retention_days) so an agent can see what cleaning and quote
# stripping removed; a duplicate does not, because its first copy holds the same email.
KEEP_RAW = set(InboundOutcome) - {InboundOutcome.duplicate}


@dataclass
class IncomingEmail:
    """What the mail side read from one fetched email; the core stores it without re-parsing."""

    message_id: str
    sender: str
    raw: bytes
    mailbox: str = ""
    uidvalidity: int = 0
    uid: int = 0
    sender_name: str | None = None
    subject: str = ""
    text: str = ""
    original_text: str = ""
    attachments: list[str] = field(default_factory=list)  # "name (type, size)" lines, when files are not given
    files: list[EmailFile] = field(default_factory=list)


@dataclass
class Verdict:
    """What routing decided for an email (see mail/routing.py): an outcome, why, and for what."""

    outcome: InboundOutcome
    reason: str = ""
    conversation_id: int | None = None
    bounced_message_id: str | None = None  # for a bounce: the Message-ID of our email that bounced
    opt_out_job_id: int | None = None  # an unsubscribe request by email: the job whose mailto it used


class InboundService:
    """Files fetched emails: one row per email, its message and the mailbox high-water mark in one transaction."""

    def __init__(self, session: Session, clock: Clock, *, window_max: int = 20, window_seconds: int = 600,
                 max_body_chars: int = MAX_BODY_CHARS, max_attachment_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.session = session
        self.clock = clock
        self.max_attachment_bytes = max_attachment_bytes
        self.window_max = window_max
        self.window_seconds = window_seconds
        self.max_body_chars = max_body_chars

    # --- lookups -------------------------------------------------------------------------------
    def get(self, inbound_id: int) -> InboundEmail:
        record = self.session.get(InboundEmail, inbound_id)
        if record is None:
            raise NotFound(_("There is no inbound email with id {id}.").format(id=inbound_id))
        return record

    def held(self, limit: int = 200) -> list[InboundEmail]:
        """Emails waiting for an agent to accept or reject them, oldest first."""
        query = (select(InboundEmail).where(InboundEmail.held_status == HeldStatus.pending)
                 .order_by(col(InboundEmail.id)).limit(limit))
        return list(self.session.exec(query))

    def refused(self, limit: int = 200) -> list[InboundEmail]:
        """Emails that were not posted (refused, auto-replies, bounces) and no agent has decided on, newest first."""
        kinds = [kind for kind in AWAITING_AGENT if kind is not InboundOutcome.held]
        query = (select(InboundEmail).where(col(InboundEmail.outcome).in_(kinds), col(InboundEmail.decision).is_(None))
                 .order_by(col(InboundEmail.id).desc()).limit(limit))
        return list(self.session.exec(query))

    def mailbox_state(self, mailbox: str) -> MailboxState | None:
        query = select(MailboxState).where(MailboxState.mailbox == mailbox)
        return self.session.exec(query.execution_options(populate_existing=True)).first()

    def is_known_message_id(self, message_id: str) -> bool:
        """Whether this email was filed already (as a conversation message or any inbound record)."""
        if self.session.exec(select(Message.id).where(Message.email_message_id == message_id).limit(1)).first():
            return True
        query = select(InboundEmail.id).where(InboundEmail.message_id == message_id,
                                              InboundEmail.outcome != InboundOutcome.duplicate).limit(1)
        return self.session.exec(query).first() is not None

    def conversation_end_user(self, conversation_id: int) -> EndUser | None:
        conversation = self.session.get(Conversation, conversation_id)
        return self.session.get(EndUser, conversation.end_user_id) if conversation else None

    def conversation_for_sent_message_id(self, message_id: str) -> int | None:
        """The conversation of an email our outbox sent with this Message-ID, if any."""
        job = OutboxService(self.session, self.clock).by_message_id(message_id)
        return job.conversation_id if job is not None else None

    # --- mailbox progress ------------------------------------------------------------------------------
    @transactional
    def start_mailbox(self, mailbox: str, uidvalidity: int) -> MailboxState:
        """The state to resume from; a new UIDVALIDITY restarts at UID 0 (Message-ID dedupe skips what was filed)."""
        state = self.mailbox_state(mailbox)
        now = self.clock.now()
        if state is None:
            state = MailboxState(mailbox=mailbox, uidvalidity=uidvalidity, last_uid=0, updated_at=now)
            self.session.add(state)
            self.session.flush()
            record_event(
                self.session, now, EventKind.inbound_mailbox_started, None, mailbox=mailbox, uidvalidity=uidvalidity
            )
        elif state.uidvalidity != uidvalidity:
            record_event(self.session, now, EventKind.inbound_uidvalidity_changed, None, mailbox=mailbox,
                         previous=state.uidvalidity, uidvalidity=uidvalidity, previous_last_uid=state.last_uid)
            state.uidvalidity = uidvalidity
            state.last_uid = 0
            state.updated_at = now
            self.session.add(state)
        return state

    def _advance(self, email: IncomingEmail, now: datetime) -> None:
        if not email.mailbox:
            return
        state = self.mailbox_state(email.mailbox)
        if state is None:
            state = MailboxState(mailbox=email.mailbox, uidvalidity=email.uidvalidity, last_uid=0, updated_at=now)
        if state.uidvalidity == email.uidvalidity and email.uid > state.last_uid:
            state.last_uid = email.uid
            state.updated_at = now
        self.session.add(state)

    # --- filing -------------------------------------------------------------------------------------
    @transactional
    def file(self, email: IncomingEmail, verdict: Verdict) -> InboundEmail:
        """Record the email with its outcome and act on it (post, hold, mark bounced) in this one transaction."""
        now = self.clock.now()
        outcome, reason = verdict.outcome, verdict.reason
        if self.is_known_message_id(email.message_id):
            outcome, reason = InboundOutcome.duplicate, _("This email was received before; it is stored once.")
        elif outcome in (InboundOutcome.posted, InboundOutcome.new_conversation, InboundOutcome.held):
            if self._count_sender(email.sender, now):
                outcome = InboundOutcome.held
                reason = _(
                    "The sender sent more than {count} emails in {seconds} seconds and is held for an hour."
                ).format(count=self.window_max, seconds=self.window_seconds)
        stored, listing = self._checked_files(email.files) if email.files else ([], list(email.attachments))
        record = InboundEmail(
            message_id=email.message_id, mailbox=email.mailbox, uidvalidity=email.uidvalidity, uid=email.uid,
            sender=email.sender[:320], sender_name=(email.sender_name or None) and email.sender_name[:200],
            subject=email.subject[:MAX_INBOUND_SUBJECT_CHARS], outcome=outcome, reason=reason,
            conversation_id=verdict.conversation_id, text=email.text, original_text=email.original_text,
            attachments="\n".join(listing), received_at=now,
            raw_source=email.raw if outcome in KEEP_RAW else None,
            held_status=HeldStatus.pending if outcome is InboundOutcome.held else None,
        )
        if outcome is InboundOutcome.bounce:
            self._mark_bounced(record, verdict)
        self.session.add(record)
        self.session.flush()
        if outcome is InboundOutcome.posted:
            self._attach(self._post(record, record.conversation_id, prove_sender=True), stored)
        elif outcome is InboundOutcome.new_conversation:
            self._attach(self._post(record, self._new_conversation(email), prove_sender=False), stored)
        self._apply_opt_out(outcome, email, verdict)
        self._advance(email, now)
        self.session.add(record)
        record_event(self.session, now, inbound_kind(record.outcome.value), record.conversation_id,
                     inbound_id=record.id, message_id=record.message_id, mailbox=record.mailbox, uid=record.uid,
                     reason=record.reason, posted_message_id=record.posted_message_id)
        return record

    def _checked_files(self, email_files: list[EmailFile]) -> tuple[list[tuple[CheckedFile, str]], list[str]]:
        """The files that may be stored (with their Content-ID), and one listing line per file: what was stored,
        and what was not with the reason (too large, a type not allowed). Used on arrival and when an agent posts
        a held email later, so both store the same files under the same limits."""
        files = AttachmentService(self.session, self.clock, max_bytes=self.max_attachment_bytes)
        stored: list[tuple[CheckedFile, str]] = []
        listing: list[str] = []
        for found in email_files:
            try:
                checked = files.check(found.name, found.content)
            except ThreadlineError as refusal:
                listing.append(_("{name} ({type}, {size} bytes), not stored: {reason}").format(
                    name=found.name, type=found.declared_type, size=len(found.content), reason=refusal.message))
                continue
            stored.append((checked, found.content_id))
            listing.append(_("{name} ({type}, {size} bytes)").format(
                name=checked.name, type=checked.content_type, size=checked.size))
        return stored, listing

    def _attach(self, message: Message, stored: list[tuple[CheckedFile, str]]) -> None:
        files = AttachmentService(self.session, self.clock, max_bytes=self.max_attachment_bytes)
        for checked, content_id in stored:
            files.attach(message, checked, content_id=content_id or None)

    @transactional
    def _apply_opt_out(self, outcome: InboundOutcome, email: IncomingEmail, verdict: Verdict) -> None:
        """An unsubscribe email stops the notified address; writing to support again lifts a stop for the sender."""
        opt_outs = OptOutService(self.session, self.clock)
        if outcome is not InboundOutcome.duplicate and verdict.opt_out_job_id is not None:
            job = self.session.get(OutboxJob, verdict.opt_out_job_id)
            if job is not None:
                opt_outs.stop(job.to_address, OptOutSource.email, row_id(job))
        elif outcome in (InboundOutcome.posted, InboundOutcome.new_conversation) and email.sender:
            opt_outs.lift(email.sender, "inbound")

    def _mark_bounced(self, record: InboundEmail, verdict: Verdict) -> None:
        try:
            job = OutboxService(self.session, self.clock).mark_bounced(verdict.bounced_message_id or "", verdict.reason)
        except NotFound:
            record.outcome = InboundOutcome.refused
            record.reason = _("A delivery report about an email this outbox did not send: {reason}").format(
                reason=verdict.reason)
            return
        record.conversation_id = job.conversation_id

    def _body(self, record: InboundEmail) -> str:
        # The mail side cleans text before filing; records filed before it did may still hold control characters,
        # and refusing them would leave the customer's words unpostable.
        body = (without_control_characters(record.text).strip()
                or without_control_characters(record.original_text).strip())
        if not body:
            body = _("(The email had no text.)")
        if record.attachments:
            body += "\n\n" + _("Attachments:") + "\n" + record.attachments
        if len(body) > self.max_body_chars:
            body = body[: self.max_body_chars - 1] + "…"
        return body

    def _post(self, record: InboundEmail, conversation_id: int | None, *, prove_sender: bool,
              meta: dict[str, Any] | None = None) -> Message:
        if conversation_id is None:
            raise InvalidInput(_("The email is not linked to a conversation; accept it into a new one instead."))
        conversations = ConversationService(self.session, self.clock, self.max_body_chars)
        message = conversations.post_message(
            conversation_id, AuthorKind.end_user, self._body(record), channel=Channel.email,
            email_message_id=record.message_id,
            meta={"inbound_id": record.id, "subject": record.subject, **(meta or {})})
        record.conversation_id = conversation_id
        record.posted_message_id = message.id
        if prove_sender:
            self._prove_address(conversation_id, record.sender)
        return message

    def _prove_address(self, conversation_id: int, sender: str) -> None:
        """A reply carrying the end user's signed token, from an address we emailed them at, proves they own it."""
        end_user = self.conversation_end_user(conversation_id)
        if end_user is not None and self.is_end_users_address(conversation_id, sender):
            IdentityService(self.session, self.clock).prove(row_id(end_user), sender, PROOF_REPLY)

    def is_end_users_address(self, conversation_id: int, sender: str) -> bool:
        """Whether sender is where this conversation is emailed, the end user's address, or one they proved."""
        conversation = self.session.get(Conversation, conversation_id)
        if conversation is None:
            return False
        end_user = self.session.get(EndUser, conversation.end_user_id)
        identity = IdentityService(self.session, self.clock)
        return bool(same_address(sender, conversation.notify_email)
                    or (end_user is not None and (same_address(sender, end_user.email)
                                                  or identity.is_verified(row_id(end_user), sender))))

    def _new_conversation(self, email: IncomingEmail) -> int:
        """A conversation for a token-less email: for the end user who proved the address, else a new end user.

        Never for someone who merely typed the address into the widget: a stranger who typed bob@ first must not
        receive Bob's emails, nor the replies to them (the console shows the agent both profiles and can merge).
        """
        conversations = ConversationService(self.session, self.clock, self.max_body_chars)
        try:
            address = normalize_email(email.sender)
        except InvalidInput:
            address = None
        end_user = IdentityService(self.session, self.clock).verified_owner(address) if address else None
        if end_user is None:
            end_user = conversations.create_end_user(email.sender_name or None, address)
        conversation = conversations.start_conversation(row_id(end_user), channel=Channel.email)
        return row_id(conversation)

    def _window(self, sender: str) -> SenderWindow | None:
        return self.session.exec(select(SenderWindow).where(SenderWindow.sender == sender.lower()[:320])).first()

    def _count_sender(self, sender: str, now: datetime) -> bool:
        """Count one email from sender; True if the sender is (now) over the limit and must be held."""
        if not sender:
            return False
        window = self._window(sender)
        if window is None:
            window = SenderWindow(sender=sender.lower()[:320], window_start=now, count=0)
        if now - window.window_start >= timedelta(seconds=self.window_seconds):
            window.window_start, window.count = now, 0
        window.count += 1
        limited = bool(window.limited_until and window.limited_until > now)
        if window.count > self.window_max:
            if not limited:
                record_event(self.session, now, EventKind.inbound_sender_limited, None, sender=window.sender,
                             count=window.count)
            window.limited_until = now + timedelta(seconds=RATE_LIMIT_SECONDS)
            limited = True
        self.session.add(window)
        return limited

    # --- mail waiting for an agent -------------------------------------------------------------------------
    def _awaiting(self, inbound_id: int) -> InboundEmail:
        record = self.get(inbound_id)
        if record.outcome not in AWAITING_AGENT:
            raise InvalidTransition(
                _("Inbound email {id} was {outcome} on arrival; there is nothing to decide.").format(
                    id=inbound_id, outcome=record.outcome.value))
        if record.decision is not None or record.held_status in (HeldStatus.accepted, HeldStatus.rejected):
            raise InvalidTransition(_("Inbound email {id} was decided already ({decision}).").format(
                id=inbound_id, decision=(record.decision or record.held_status).value))  # type: ignore[union-attr]
        return record

    def _decided(self, record: InboundEmail, decision: InboundDecision, agent_id: int) -> None:
        record.decision = decision
        if record.held_status is HeldStatus.pending:
            record.held_status = HeldStatus.accepted if decision is InboundDecision.posted else HeldStatus.rejected
        record.decided_by_agent_id = agent_id
        record.decided_at = self.clock.now()
        self.session.add(record)

    @transactional
    def post_by_agent(self, inbound_id: int, agent_id: int, *, conversation_id: int | None = None,
                      new_conversation: bool = False) -> InboundEmail:
        """An agent posts a held, refused or unmatched email: into the conversation they picked, else into a new
        one when asked, else into the conversation it matched, else into a new one from its sender."""
        record = self._awaiting(inbound_id)
        if self.session.exec(select(Message.id).where(Message.email_message_id == record.message_id)).first():
            raise InvalidTransition(_("This email is in a conversation already; discard this copy instead."))
        if conversation_id is not None:
            target, how = ConversationService(self.session, self.clock).get(conversation_id).id, "picked"
        elif new_conversation or record.conversation_id is None:
            target, how = self._new_conversation(IncomingEmail(
                message_id=record.message_id, sender=record.sender, raw=b"", sender_name=record.sender_name)), "new"
        else:
            target, how = record.conversation_id, "matched"
        if self.session.get(Conversation, target) is None:
            raise NotFound(_("The conversation this email matched no longer exists; post it into another one."))
        stored = self._files_kept_for_later(record)
        self._attach(self._post(record, target, prove_sender=False,
                                meta={"accepted_by": agent_id, "from": record.sender}), stored)
        self._decided(record, InboundDecision.posted, agent_id)
        record_event(self.session, self.clock.now(), EventKind.inbound_accepted, record.conversation_id,
                     inbound_id=record.id, agent_id=agent_id, target=how, outcome=record.outcome.value,
                     posted_message_id=record.posted_message_id)
        return record

    def _files_kept_for_later(self, record: InboundEmail) -> list[tuple[CheckedFile, str]]:
        """The files of an email posted after it waited: read again from its raw source (only its list was kept)
        and checked as on arrival; the listing in its text is brought up to date with what is stored now."""
        if not record.attachments or not record.raw_source:
            return []  # no files on arrival (or unreadable MIME then), or the source is gone: keep the list as is
        email_files = files_of_raw_email(record.raw_source)
        if not email_files:
            return []
        stored, listing = self._checked_files(email_files)
        record.attachments = "\n".join(listing)
        return stored

    @transactional
    def discard(self, inbound_id: int, agent_id: int) -> InboundEmail:
        """An agent turns an email away for good; it stays recorded (with its source, until the retention ends)."""
        record = self._awaiting(inbound_id)
        self._decided(record, InboundDecision.discarded, agent_id)
        record_event(
            self.session,
            self.clock.now(),
            EventKind.inbound_rejected,
            record.conversation_id,
            inbound_id=record.id,
            agent_id=agent_id,
            outcome=record.outcome.value,
        )
        return record

    # --- retention ---------------------------------------------------------------------------------------------
    @transactional
    def clear_old_raw_sources(self, retention_days: int) -> int:
        """Forget raw sources received more than retention_days ago; returns how many were cleared.

        Emails still waiting for an agent keep theirs until decided: the source may be all an agent has to go on.
        """
        if retention_days < 1:
            raise InvalidInput(_("The raw source retention must be at least 1 day (mail.raw_retention_days)."))
        now = self.clock.now()
        awaiting = and_(col(InboundEmail.outcome).in_(AWAITING_AGENT), col(InboundEmail.decision).is_(None))
        result = self.session.execute(
            update(InboundEmail)
            .where(col(InboundEmail.raw_source).is_not(None),
                   col(InboundEmail.received_at) < now - timedelta(days=retention_days), not_(awaiting))
            .values(raw_source=None)
            .execution_options(synchronize_session=False))
        cleared = rows_changed(result)
        if cleared:
            record_event(self.session, now, EventKind.inbound_raw_sources_cleared, None, count=cleared,
                         retention_days=retention_days)
        return cleared

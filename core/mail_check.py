"""The real conversation behind `threadline send-test-email`: an end user, an agent's message and its outbox job,
so the test email is a notification like any other (reply token, return link, Message-ID) and an answer threads."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select

from core.clock import Clock
from core.conversations import ConversationService
from core.errors import PreconditionFailed
from core.event_kinds import EventKind
from core.events import record_event
from core.i18n import _
from core.models import Agent, Conversation, OutboxJob, OutboxStatus, row_id
from core.outbox import notification_message_id
from core.tokens import TokenSigner
from core.transactions import transactional

# The command holds its job this long; if it dies before recording the send, a sender sends the job then.
LEASE = timedelta(hours=1)
WORKER = "send-test-email"


class MailCheckService:
    def __init__(self, session: Session, clock: Clock, signer: TokenSigner) -> None:
        self.session = session
        self.clock = clock
        self.signer = signer

    def _agent(self) -> Agent:
        agent = self.session.exec(select(Agent).order_by(col(Agent.is_admin).desc(), col(Agent.id))).first()
        if agent is None:
            raise PreconditionFailed(_("A test email comes from an agent; add one first with: "
                                       "threadline agent add HANDLE --name NAME"))
        return agent

    @transactional
    def create(self, address: str, language: str, body: str, domain: str) -> OutboxJob:
        """A new conversation with address whose agent message is claimed into one job leased to this command."""
        agent = self._agent()
        conversations = ConversationService(self.session, self.clock)
        end_user = conversations.create_end_user(None, address, language)
        conversation_id = row_id(conversations.start_conversation(row_id(end_user), language=language))
        message = conversations.post_agent_message(conversation_id, row_id(agent), body)
        now = self.clock.now()
        refreshed = self.session.get(Conversation, conversation_id)
        if refreshed is None:
            raise RuntimeError(f"conversation {conversation_id} vanished inside its own transaction")
        # Claimed here, as the scheduler would: the scheduler must not email this message a second time.
        refreshed.notified_seq = message.seq
        refreshed.notify_due_at = None
        self.session.add(refreshed)
        job = OutboxJob(
            kind="notification",
            conversation_id=conversation_id,
            idempotency_key=f"test:{conversation_id}:{message.seq}",
            first_seq=message.seq,
            last_seq=message.seq,
            to_address=address,
            address_key=address.lower(),
            language=language,
            message_id=notification_message_id(self.signer.reply_token(conversation_id), domain),
            status=OutboxStatus.pending,
            attempts=1,
            next_attempt_at=now,
            created_at=now,
            locked_until=now + LEASE,
            locked_by=WORKER,
            payload={"test": True},
        )
        self.session.add(job)
        self.session.flush()
        record_event(
            self.session,
            now,
            EventKind.notification_queued,
            conversation_id,
            idempotency_key=job.idempotency_key,
            first_seq=message.seq,
            last_seq=message.seq,
            notified_seq=message.seq,
            test=True,
        )
        return job

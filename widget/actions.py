"""What an end user can do, as synchronous calls into core: each is one short session, run in a worker thread."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol, TypedDict

from sqlmodel import Session, col, select

from core.activity import ActivityService
from core.addresses import normalize_email
from core.attachments import (
    AttachmentService,
    AttachmentTooLarge,
    AttachmentTypeNotAllowed,
    Download,
    attachment_json,
    upload_ahead,
)
from core.clock import Clock
from core.conversations import ConversationService
from core.db import Database
from core.end_users import EndUserService
from core.errors import CredentialRefused, InvalidInput, InvalidTransition, NotFound
from core.i18n import N_
from core.identity import SPENT_RETURN_LINK, IdentityClaim, IdentityService
from core.models import Agent, Attachment, AuthorKind, Channel, Conversation, EndUser, Message, Rating
from core.presence import PresenceService
from core.ratings import RatingService, rating_comment, rating_score
from core.settings import SettingsService
from core.tokens import EndUserClaim, InvalidToken, TokenSigner
from core.transactions import transactional
from core.wait_time import estimate
from widget.errors import ApiError
from widget.strings import clean_language

log = logging.getLogger(__name__)


class _Stored(Protocol):
    id: int | None


def stored_id(row: _Stored) -> int:
    """The primary key of a row read from or flushed to the database (core's models type it Optional for inserts)."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id: it was never flushed to the database")
    return row.id

CLIENT_CHANNELS = {"messaging": Channel.messaging, "api": Channel.api}
TRANSCRIPT_PAGE = 500


# --- what clients see ---------------------------------------------------------------------------------
class AttachmentJson(TypedDict):
    id: str  # the public id
    name: str
    type: str  # sniffed from the content
    size: int
    sha256: str
    url: str  # relative to the widget server; carries a signed, expiring token


class MessageJson(TypedDict):
    seq: int
    author: str  # "end_user", "agent" or "system"
    author_name: str | None  # agents only
    body: str
    channel: str
    kind: str
    meta: dict[str, Any] | None  # system messages only
    created_at: str  # ISO 8601
    attachments: list[AttachmentJson]


class ConversationJson(TypedDict):
    id: str  # the public id
    status: str
    last_seq: int
    end_user_read_seq: int
    created_at: str


class EndUserJson(TypedDict):
    name: str | None
    email: str | None
    email_verified: bool
    language: str | None


class StartedJson(TypedDict):
    """A conversation started or resumed: the token the widget acts with from now on, and everything it shows."""

    token: str
    end_user: EndUserJson
    conversation: ConversationJson
    messages: list[MessageJson]


class TranscriptJson(TypedDict):
    conversation: ConversationJson
    messages: list[MessageJson]


class RatingJson(TypedDict):
    score: str  # "good" or "bad"
    comment: str | None


class FeedJson(TypedDict):
    """What a WebSocket starts from."""

    messages: list[MessageJson]
    end_user_read_seq: int
    heartbeat_seconds: int
    status: str  # the widget asks for a rating once this is "solved"
    rating: RatingJson | None


def rating_json(rating: Rating | None) -> RatingJson | None:
    return None if rating is None else {"score": rating.score.value, "comment": rating.comment}


def message_json(message: Message, agent_name: str | None = None,
                 attachments: list[AttachmentJson] | None = None) -> MessageJson:
    return {
        "seq": message.seq,
        "author": message.author_kind.value,
        "author_name": agent_name if message.author_kind is AuthorKind.agent else None,
        "body": message.body,
        "channel": message.channel.value,
        "kind": message.kind,
        "meta": message.meta if message.author_kind is AuthorKind.system else None,
        "created_at": message.created_at.isoformat(),
        "attachments": attachments or [],
    }


class AttachmentLinks:
    """Signs the download links the widget shows: each bound to its conversation and valid for link_days."""

    def __init__(self, signer: TokenSigner, clock: Clock, link_days: int) -> None:
        self.signer = signer
        self.clock = clock
        self.link_days = link_days

    def of_messages(self, session: Session, message_ids: list[int]) -> dict[int, list[AttachmentJson]]:
        files = AttachmentService(session, self.clock, link_days=self.link_days)
        return {message_id: [self.json(files, attachment) for attachment in found]
                for message_id, found in files.of_messages(message_ids).items()}

    def json(self, files: AttachmentService, attachment: Attachment) -> AttachmentJson:
        found = attachment_json(attachment, files.signed_path(self.signer, attachment))
        return {"id": found["id"], "name": found["name"], "type": found["type"], "size": found["size"],
                "sha256": found["sha256"], "url": found["url"]}


def conversation_json(conversation: Conversation) -> ConversationJson:
    return {
        "id": conversation.public_id,
        "status": conversation.status.value,
        "last_seq": conversation.last_seq,
        "end_user_read_seq": conversation.end_user_read_seq,
        "created_at": conversation.created_at.isoformat(),
    }


def end_user_json(end_user: EndUser) -> EndUserJson:
    return {"name": end_user.name, "email": end_user.email, "email_verified": end_user.email_verified,
            "language": end_user.language}


def transcript_json(session: Session, conversation_id: int, after: int = 0,
                    limit: int = TRANSCRIPT_PAGE, links: AttachmentLinks | None = None) -> list[MessageJson]:
    """A conversation's messages after seq `after`, oldest first, with each agent's display name (and, given
    links, each message's attachments with signed download links)."""
    query = (select(Message, Agent.name).outerjoin(Agent, col(Agent.id) == col(Message.author_agent_id))
             .where(Message.conversation_id == conversation_id, Message.seq > after)
             .order_by(col(Message.seq)).limit(limit))
    rows = list(session.exec(query))
    files = links.of_messages(session, [stored_id(message) for message, _name in rows]) if links else {}
    return [message_json(message, name, files.get(stored_id(message))) for message, name in rows]


class WidgetDesk:
    """The end user's side of the desk. Every method opens its own session and returns plain JSON-ready data."""

    def __init__(self, db: Database, clock: Clock, signer: TokenSigner, widget_secret: bytes, *,
                 max_message_chars: int, return_link_days: int, session_days: int = 90,
                 attachment_max_bytes: int = 10 * 1024 * 1024, attachment_link_days: int = 7) -> None:
        self.db = db
        self.clock = clock
        self.signer = signer
        self.widget_secret = widget_secret
        self.max_message_chars = max_message_chars
        self.return_link_days = return_link_days
        self.session_max_age = timedelta(days=session_days)
        self.attachment_max_bytes = attachment_max_bytes
        self.links = AttachmentLinks(signer, clock, attachment_link_days)

    def _identity(self, session: Session) -> IdentityService:
        return IdentityService(session, self.clock, session_max_age=self.session_max_age)

    def authenticate(self, claim: EndUserClaim) -> int:
        """The end user a token acts for now (merges followed); refused when revoked, too old or blocked."""
        with self.db.read_session() as session:
            try:
                end_user = self._identity(session).session_end_user(claim)
            except CredentialRefused:
                raise ApiError(
                    "unauthorized", N_("Your chat session is not valid any more; start a new conversation.")
                ) from None
            return stored_id(self._end_user(session, stored_id(end_user)))

    def _token(self, end_user: EndUser) -> str:
        return self.signer.end_user_token(stored_id(end_user), self.clock.now())

    # --- checks -----------------------------------------------------------------------------------------
    def _end_user(self, session: Session, end_user_id: int) -> EndUser:
        end_user = session.get(EndUser, end_user_id)
        if end_user is None:
            raise ApiError("unauthorized", N_("Your chat session is not valid any more; start a new conversation."))
        if end_user.blocked:
            raise ApiError("blocked", N_("This chat is not available to you."))
        return end_user

    def _conversation(self, session: Session, end_user: EndUser, public_id: str) -> Conversation:
        conversation = session.exec(select(Conversation).where(Conversation.public_id == public_id)).first()
        # Someone else's conversation looks exactly like a missing one, so ids cannot be probed.
        if conversation is None or conversation.end_user_id != end_user.id:
            raise ApiError("not_found", N_("There is no conversation {id!r} for you."), id=public_id)
        return conversation

    def _email(self, session: Session, address: str) -> str:
        try:
            email = normalize_email(address)
        except InvalidInput:
            raise ApiError("invalid_email", N_("{address!r} is not a valid email address. Check it and try again."),
                           address=address) from None
        if EndUserService(session, self.clock).is_blocked_address(email):
            raise ApiError("blocked", N_("This email address cannot be used here."))
        return email

    def _body(self, body: Any) -> str:
        if not isinstance(body, str) or not body.strip():
            raise ApiError("invalid_input", N_("The message is empty; write some text before sending."))
        if len(body) > self.max_message_chars:
            raise ApiError("message_too_large", N_("The message is {length} characters long; the limit is {limit}. "
                                                   "Shorten it or split it."),
                           length=len(body), limit=self.max_message_chars)
        return body

    def _transcript(self, session: Session, conversation: Conversation, after: int) -> list[MessageJson]:
        return transcript_json(session, stored_id(conversation), after, links=self.links)

    def _started(self, session: Session, end_user: EndUser, conversation: Conversation) -> StartedJson:
        session.refresh(conversation)
        return {"token": self._token(end_user), "end_user": end_user_json(end_user),
                "conversation": conversation_json(conversation), "messages": self._transcript(session, conversation, 0)}

    # --- actions ------------------------------------------------------------------------------------------
    def start(self, end_user_id: int | None, *, name: str | None = None, email: str | None = None,
              identity: IdentityClaim | None = None, language: str | None = None,
              channel: object = "messaging") -> StartedJson:
        """A new conversation, for a new end user, the one the token names, or the one identity() vouches for."""
        channel_value = _client_channel(channel)
        language = clean_language(language)
        with self.db.session() as session:
            conversations = ConversationService(session, self.clock, self.max_message_chars)
            clean_email = self._email(session, email) if email and identity is None else None
            profile = EndUserService(session, self.clock)

            def start_in_one_transaction() -> tuple[EndUser, Conversation]:
                # One commit for the end user, their profile and the conversation: a failure leaves no orphan.
                if identity is not None:
                    self._email(session, identity.email)
                    end_user = self._end_user(session, stored_id(self._identify(session, end_user_id, identity)))
                elif end_user_id is None:
                    end_user = conversations.create_end_user(name, clean_email, language)
                else:
                    end_user = self._end_user(session, end_user_id)
                    if clean_email and clean_email != end_user.email:
                        profile.set_email(stored_id(end_user), clean_email)
                    if name and name != end_user.name:
                        profile.set_name(stored_id(end_user), name)
                if language:
                    profile.set_language(stored_id(end_user), language, by_agent=False)
                return end_user, conversations.start_conversation(
                    stored_id(end_user), channel=channel_value, language=language
                )

            try:
                end_user, conversation = _OneTransaction(session).run(start_in_one_transaction)
            except InvalidInput as exc:
                raise ApiError("invalid_input", exc.message, translated=True) from None
            session.refresh(end_user)
            return self._started(session, end_user, conversation)

    def _identify(self, session: Session, end_user_id: int | None, identity: IdentityClaim) -> EndUser:
        try:
            return self._identity(session).identify(end_user_id, identity, self.widget_secret)
        except CredentialRefused as refusal:
            raise ApiError(refusal.code, _REFUSALS[refusal.code]) from None

    def resume(self, return_token: str, end_user_id: int | None = None, *, confirm: bool = False) -> StartedJson:
        """Open the conversation an email's return link names, once, with a fresh end-user token.

        A browser whose widget already holds another person's session is asked first (session_conflict): a link
        someone else sent must never silently swap the visitor's chat for theirs. Asking does not use the link.
        """
        try:
            conversation_id, expires_at = self.signer.verify_return_link_token(return_token, self.clock.now())
        except InvalidToken as exc:
            if str(exc) == "expired":
                raise ApiError("return_link_expired", N_("This link has expired. Start a new conversation; "
                                                         "we still have the old one.")) from None
            raise ApiError(
                "invalid_return_link", N_("This link is not valid. Copy the whole link from the email.")
            ) from None
        with self.db.session() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None:
                raise ApiError("invalid_return_link", N_("This link is not valid. Copy the whole link from the email."))
            end_user = self._end_user(session, conversation.end_user_id)
            identity = self._identity(session)
            if end_user_id is not None and end_user_id != end_user.id and not confirm:
                raise ApiError("session_conflict", N_("This link opens another conversation than the one in this "
                                                      "chat. Open it, or stay in this one?"))
            try:
                _OneTransaction(session).run(
                    lambda: identity.spend(SPENT_RETURN_LINK, return_token, end_user.id, expires_at))
            except CredentialRefused as refusal:
                raise ApiError(refusal.code, _REFUSALS[refusal.code]) from None
            return self._started(session, end_user, conversation)

    def return_link_token(self, conversation_id: int) -> str:
        """A return link token valid for the configured number of days (what emails carry)."""
        return self.signer.return_link_token(conversation_id, self.clock.now() + timedelta(days=self.return_link_days))

    def transcript(self, end_user_id: int, public_id: str, after: int = 0) -> TranscriptJson:
        with self.db.read_session() as session:
            end_user = self._end_user(session, end_user_id)
            conversation = self._conversation(session, end_user, public_id)
            return {"conversation": conversation_json(conversation),
                    "messages": self._transcript(session, conversation, after)}

    def post(self, end_user_id: int, public_id: str, body: Any, channel: object = "messaging") -> MessageJson:
        channel_value = _client_channel(channel)
        body = self._body(body)
        with self.db.session() as session:
            end_user = self._end_user(session, end_user_id)
            conversation = self._conversation(session, end_user, public_id)
            try:
                message = ConversationService(session, self.clock, self.max_message_chars).post_end_user_message(
                    stored_id(conversation), body, channel=channel_value)
            except InvalidInput as exc:
                raise ApiError("invalid_input", exc.message, translated=True) from None
            return message_json(message)

    # --- attachments ------------------------------------------------------------------------------------
    def _files(self, session: Session) -> AttachmentService:
        return AttachmentService(session, self.clock, max_bytes=self.attachment_max_bytes,
                                 link_days=self.links.link_days)

    def attach(self, end_user_id: int, public_id: str, name: str | None, content: bytes) -> AttachmentJson:
        """Post a message carrying one file (its name as the text) in the end user's conversation."""
        with self.db.read_session() as session:
            self._conversation(session, self._end_user(session, end_user_id), public_id)
            try:
                checked = self._files(session).check(name, content)
            except AttachmentTooLarge as exc:
                raise ApiError("attachment_too_large", exc.message, translated=True) from None
            except AttachmentTypeNotAllowed as exc:
                raise ApiError("attachment_type_not_allowed", exc.message, translated=True) from None
        # Checked and allowed: bytes for a store outside the database (S3) go up now, before the write transaction,
        # so it never holds SQLite's write lock while waiting on the network.
        checked = upload_ahead(checked)
        with self.db.session() as session:
            end_user = self._end_user(session, end_user_id)
            conversation = self._conversation(session, end_user, public_id)
            files = self._files(session)
            attachment = files.post_file(stored_id(conversation), AuthorKind.end_user, checked)
            return self.links.json(files, attachment)

    def end_user_download(self, end_user_id: int, attachment_id: str) -> Download:
        """A file in one of the end user's own conversations (someone else's looks missing)."""
        with self.db.read_session() as session:
            end_user = self._end_user(session, end_user_id)
            files = self._files(session)
            try:
                attachment = files.by_public_id(attachment_id)
            except NotFound:
                raise _no_attachment(attachment_id) from None
            conversation = session.get(Conversation, attachment.conversation_id)
            if conversation is None or conversation.end_user_id != end_user.id:
                raise _no_attachment(attachment_id)
            return files.content(attachment)

    def link_download(self, attachment_id: str, token: str) -> Download:
        """A file a signed link opens: the link names the attachment and its conversation and must not have expired."""
        with self.db.read_session() as session:
            files = self._files(session)
            try:
                attachment = files.by_link(self.signer, attachment_id, token)
                conversation = session.get(Conversation, attachment.conversation_id)
                if conversation is None:
                    raise _no_attachment(attachment_id)
                end_user = session.get(EndUser, conversation.end_user_id)
                if end_user is None or end_user.blocked:
                    raise _no_attachment(attachment_id)
                return files.content(attachment)
            except NotFound:
                raise _no_attachment(attachment_id) from None

    def mark_read(self, end_user_id: int, public_id: str, seq: Any) -> dict[str, Any]:
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise ApiError("invalid_input", N_("seq must be a whole number of zero or more."))
        with self.db.session() as session:
            end_user = self._end_user(session, end_user_id)
            conversation = self._conversation(session, end_user, public_id)
            if seq > conversation.last_seq:
                raise ApiError("invalid_input", N_("Message {seq} does not exist yet; the conversation has {count}."),
                               seq=seq, count=conversation.last_seq)
            mark = ConversationService(session, self.clock).mark_read(stored_id(conversation), AuthorKind.end_user, seq)
            return {"end_user_read_seq": mark}

    def give_email(self, end_user_id: int, address: Any, *, name: str | None = None) -> dict[str, Any]:
        """Store the address the end user typed: unproven, so it never takes over a proven one (core.identity)."""
        if not isinstance(address, str) or not address.strip():
            raise ApiError("invalid_email", N_("Enter your email address."))
        address = address.strip()
        with self.db.session() as session:
            end_user = self._end_user(session, end_user_id)
            email = self._email(session, address)
            service = EndUserService(session, self.clock)
            try:
                if email != end_user.email:
                    service.set_email(stored_id(end_user), email)
                if name and name != end_user.name:
                    service.set_name(stored_id(end_user), name)
            except InvalidInput as exc:
                raise ApiError("invalid_email", exc.message, translated=True) from None
            session.refresh(end_user)
            return {"end_user": end_user_json(end_user)}

    def identify(self, end_user_id: int, identity: IdentityClaim) -> dict[str, Any]:
        """The host website vouches for the visitor: their profile, a token for it, and whether the chat changed."""
        with self.db.session() as session:
            current = self._end_user(session, end_user_id)
            self._email(session, identity.email)
            owner = self._identify(session, current.id, identity)
            session.refresh(current)
            # Merged: the anonymous chat joined the identified profile and goes on. Switched: another signed-in
            # person, whose conversation the widget must drop.
            switched = owner.id != current.id and current.merged_into_id != owner.id
            owner = self._end_user(session, stored_id(owner))
            return {"token": self._token(owner), "end_user": end_user_json(owner), "switched": switched}

    def set_language(self, end_user_id: int, tag: Any) -> dict[str, Any]:
        language = clean_language(tag if isinstance(tag, str) else None)
        if not language:
            raise ApiError("invalid_input", N_("{language!r} is not a language tag; use one such as en, de or pt-BR."),
                           language=tag)
        with self.db.session() as session:
            end_user = self._end_user(session, end_user_id)
            EndUserService(session, self.clock).set_language(stored_id(end_user), language, by_agent=False)
            session.refresh(end_user)
            return {"end_user": end_user_json(end_user)}

    def brand_name(self) -> str:
        with self.db.read_session() as session:
            return SettingsService(session, self.clock).load().brand_name

    def profile(self, end_user_id: int) -> dict[str, Any]:
        """The profile, with a freshly issued token: a widget that comes back renews its session this way."""
        with self.db.read_session() as session:
            end_user = self._end_user(session, end_user_id)
            return {"end_user": end_user_json(end_user), "token": self._token(end_user)}

    def availability(self) -> dict[str, Any]:
        """Whether the team is online, how many agents and waiting conversations, and the expected wait."""
        with self.db.read_session() as session:
            found = estimate(session, self.clock)
        return {"team_online": found.team_online, "agents_online": found.agents_online,
                "queue_length": found.queue_length, "wait_seconds": found.seconds}

    # --- the live connection --------------------------------------------------------------------------------
    def authorize(self, end_user_id: int, public_id: str) -> int:
        """The row id of the end user's conversation public_id; raises ApiError when it is not theirs."""
        with self.db.read_session() as session:
            return stored_id(self._conversation(session, self._end_user(session, end_user_id), public_id))

    def open_feed(self, end_user_id: int, public_id: str, after: int) -> FeedJson:
        """For a WebSocket: the messages after `after`, the read mark, and how often to send heartbeats."""
        with self.db.read_session() as session:
            end_user = self._end_user(session, end_user_id)
            conversation = self._conversation(session, end_user, public_id)
            timeout = SettingsService(session, self.clock).load().presence_timeout_seconds
            return {"messages": self._transcript(session, conversation, after),
                    "end_user_read_seq": conversation.end_user_read_seq,
                    # Three heartbeats per presence timeout, so one lost frame does not drop presence.
                    "heartbeat_seconds": max(3, timeout // 3),
                    "status": conversation.status.value,
                    "rating": rating_json(session.get(Rating, stored_id(conversation)))}

    def report_presence(self, conversation_id: int, state: str) -> None:
        with self.db.session() as session:
            try:
                PresenceService(session, self.clock).report(conversation_id, state)
            except NotFound:  # the conversation was deleted while connected
                log.info("presence for missing conversation %s ignored", conversation_id)


    # --- typing and rating --------------------------------------------------------------------------------
    def report_typing(self, conversation_id: int, text: str) -> None:
        """What the end user's text box holds now (the socket throttles these); empty: they stopped."""
        with self.db.session() as session:
            ActivityService(session, self.clock).end_user_typing(conversation_id, text)

    def rating(self, end_user_id: int, public_id: str) -> dict[str, Any]:
        with self.db.read_session() as session:
            conversation = self._conversation(session, self._end_user(session, end_user_id), public_id)
            return {"rating": rating_json(session.get(Rating, stored_id(conversation)))}

    def rate(self, end_user_id: int, public_id: str, score: Any, comment: Any) -> dict[str, Any]:
        """Rate a solved conversation good or bad, with an optional comment; again: the rating changes."""
        try:
            checked_score, checked_comment = rating_score(score), rating_comment(comment)
        except InvalidInput as exc:
            raise ApiError("invalid_input", exc.message, translated=True) from None
        with self.db.session() as session:
            conversation = self._conversation(session, self._end_user(session, end_user_id), public_id)
            try:
                rating = RatingService(session, self.clock).rate(stored_id(conversation), checked_score,
                                                                 checked_comment)
            except InvalidTransition:
                raise ApiError("not_solved", N_("You can rate this conversation once it is solved.")) from None
            return {"rating": rating_json(rating)}
def _no_attachment(attachment_id: str) -> ApiError:
    # Missing, someone else's, forged and expired all look alike, so links and ids cannot be probed.
    return ApiError("not_found", N_("This file is not available: the link is not valid or has expired. Open the "
                                    "conversation again for a fresh link."))


class _OneTransaction:
    """Runs several service calls as one transaction: core's @transactional joins an outer one when present."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @transactional
    def run(self, work: Callable[[], Any]) -> Any:
        return work()


# What a refused credential tells the end user, in their language (core's own text is for logs and agents).
_REFUSALS = {
    "invalid_signature": N_("The identity signature does not match user_id, email and expires_at; the website "
                            "must sign them with its widget secret."),
    "identity_expired": N_("The identity signature has expired; the website must sign a fresh one for each page."),
    "identify_used": N_("This identity signature was used already; the website must sign a fresh one for each page."),
    "return_link_used": N_("This link was used already: each email link opens the conversation once. Reply to "
                           "the email, or open the chat on the website."),
}


def _client_channel(channel: object) -> Channel:
    if channel is None:
        return Channel.messaging
    found = CLIENT_CHANNELS.get(channel) if isinstance(channel, str) else None
    if found is None:
        raise ApiError("invalid_input", N_("Unknown channel {channel!r}; use messaging or api."), channel=channel)
    return found

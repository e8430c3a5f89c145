"""Every kind of entry in the event log, as one StrEnum shared by writers and followers (a typo fails at import)."""
from __future__ import annotations

import enum


class EventKind(enum.StrEnum):
    agent_added = "agent.added"
    agent_status = "agent.status"
    article_created = "article.created"
    article_published = "article.published"
    # The widget showed articles to a waiting end user (payload article_ids), and one was opened (article_id).
    article_read = "article.read"
    article_suggested = "article.suggested"
    article_unpublished = "article.unpublished"
    article_updated = "article.updated"
    continuous_activated = "continuous.activated"
    continuous_deactivated = "continuous.deactivated"
    conversation_assigned = "conversation.assigned"
    conversation_notify_address_changed = "conversation.notify_address_changed"
    # The end user closed the conversation after an article answered them (core.articles.self_served_count).
    conversation_self_served = "conversation.self_served"
    conversation_started = "conversation.started"
    conversation_status = "conversation.status"
    conversation_tagged = "conversation.tagged"
    conversation_untagged = "conversation.untagged"
    conversation_rated = "conversation.rated"
    conversation_unassigned = "conversation.unassigned"
    email_opt_out_lifted = "email.opt_out_lifted"
    email_opted_out = "email.opted_out"
    email_template_cleared = "email_template.cleared"
    email_template_set = "email_template.set"
    end_user_blocked = "end_user.blocked"
    end_user_unblocked = "end_user.unblocked"
    end_user_created = "end_user.created"
    end_user_email_set = "end_user.email_set"
    end_user_email_verified = "end_user.email_verified"
    # Data-protection requests (core.data_requests): counts and who asked, never the person's data.
    end_user_erased = "end_user.erased"
    end_user_exported = "end_user.exported"
    end_user_identified = "end_user.identified"
    end_user_language_set = "end_user.language_set"
    end_user_merged = "end_user.merged"
    end_user_name_set = "end_user.name_set"
    end_user_sessions_revoked = "end_user.sessions_revoked"
    # One per inbound outcome (core.inbound.InboundOutcome), written as "inbound.<outcome>".
    inbound_posted = "inbound.posted"
    inbound_duplicate = "inbound.duplicate"
    inbound_held = "inbound.held"
    inbound_refused = "inbound.refused"
    inbound_new_conversation = "inbound.new_conversation"
    inbound_bounce = "inbound.bounce"
    inbound_auto_reply = "inbound.auto_reply"
    inbound_accepted = "inbound.accepted"
    inbound_mailbox_started = "inbound.mailbox_started"
    inbound_raw_sources_cleared = "inbound.raw_sources_cleared"
    inbound_rejected = "inbound.rejected"
    inbound_sender_limited = "inbound.sender_limited"
    inbound_uidvalidity_changed = "inbound.uidvalidity_changed"
    macro_deleted = "macro.deleted"
    macro_saved = "macro.saved"
    message_posted = "message.posted"
    # An internal note: its payload names the note and the agent, never the text (followers outside core/ see it).
    note_added = "note.added"
    notification_bounced = "notification.bounced"
    notification_deferred = "notification.deferred"
    notification_failed = "notification.failed"
    notification_leased = "notification.leased"
    notification_queued = "notification.queued"
    notification_released = "notification.released"
    notification_retried = "notification.retried"
    notification_retry_scheduled = "notification.retry_scheduled"
    notification_sent = "notification.sent"
    notification_suppressed = "notification.suppressed"
    notifications_baseline = "notifications.baseline"
    notifications_cleared = "notifications.cleared"
    notifications_rescheduled = "notifications.rescheduled"
    presence_changed = "presence.changed"
    read_agent = "read.agent"
    read_end_user = "read.end_user"
    # Written by mail's sender when the mail server refuses every email, and when it accepts them again.
    sender_paused = "sender.paused"
    sender_resumed = "sender.resumed"
    settings_changed = "settings.changed"
    trigger_activated = "trigger.activated"
    trigger_created = "trigger.created"
    trigger_deactivated = "trigger.deactivated"
    trigger_fired = "trigger.fired"
    trigger_text_set = "trigger.text_set"


def read_kind(side: str) -> EventKind:
    """The read-mark event of one side ("end_user" or "agent")."""
    return EventKind(f"read.{side}")


def inbound_kind(outcome: str) -> EventKind:
    """The event of one inbound outcome (core.inbound.InboundOutcome's value)."""
    return EventKind(f"inbound.{outcome}")

"""Short, translated renderings of durations, channels, statuses and languages for the console's tables."""
from __future__ import annotations

from datetime import datetime

from core.models import Channel, ConversationStatus
from tui.i18n import N_, _

STATUS_LABELS = {
    ConversationStatus.queued: N_("queued"),
    ConversationStatus.open: N_("open"),
    ConversationStatus.pending: N_("pending"),
    ConversationStatus.solved: N_("solved"),
}
CHANNEL_LABELS = {
    Channel.messaging: N_("via messaging"),
    Channel.email: N_("via email"),
    Channel.api: N_("via API"),
}


def status_label(status: ConversationStatus | str | None) -> str:
    if status is None:
        return ""
    return _(STATUS_LABELS[ConversationStatus(status)])


def channel_label(channel: Channel | str | None) -> str:
    if channel is None:
        return ""
    return _(CHANNEL_LABELS[Channel(channel)])


def wait_label(since: datetime | None, now: datetime) -> str:
    """How long since `since`, in the largest two units: 45s, 12m, 3h 04m, 2d 5h."""
    if since is None:
        return "–"
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 60:
        return _("{s}s").format(s=seconds)
    minutes = seconds // 60
    if minutes < 60:
        return _("{m}m").format(m=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _("{h}h {m:02d}m").format(h=hours, m=minutes)
    days, hours = divmod(hours, 24)
    return _("{d}d {h}h").format(d=days, h=hours)

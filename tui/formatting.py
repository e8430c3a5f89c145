"""Short, translated renderings of durations, channels, statuses and languages for the console's tables."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from babel import Locale, UnknownLocaleError

from core.models import Channel, ConversationStatus
from tui.i18n import N_, _, current_language

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


def language_label(code: str | None) -> str:
    """A language's name in the agent's language (Deutsch → "German" for an English agent), else the code."""
    if not code:
        return "–"
    try:
        name = Locale.parse(code, sep="-" if "-" in code else "_").get_display_name(Locale.parse(current_language()))
    except (ValueError, TypeError, UnknownLocaleError):
        return code
    return f"{name} ({code})" if name else code


def language_choices(codes: Iterable[str]) -> list[tuple[str, str]]:
    """(label, code) pairs for a language picker, labels localized."""
    return [(language_label(code), code) for code in codes]

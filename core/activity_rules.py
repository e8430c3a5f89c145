"""Typing and viewing indicators as pure rules: how often a writer refreshes its row, and when a report expires."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from core.text import without_control_characters

# A typist refreshes their row at most this often, however fast they type: no database row per keystroke.
TYPING_WRITE_INTERVAL = timedelta(seconds=2)
# A typing report holds this long after its last refresh: long enough to bridge the write interval and a lost
# report, short enough that a typist who stopped (or whose process died) disappears within seconds.
TYPING_TTL = timedelta(seconds=6)
# An agent with a conversation open refreshes "viewing" this often; it lapses after the TTL.
VIEWING_WRITE_INTERVAL = timedelta(seconds=10)
VIEWING_TTL = timedelta(seconds=30)
# The live preview of what an end user types keeps only the end of the text.
PREVIEW_CHARS = 200
END_USER = "end_user"


def agent_participant(agent_id: int) -> str:
    """The participant key of an agent's row ("agent:12")."""
    return f"agent:{agent_id}"


def is_live(until: datetime | None, now: datetime) -> bool:
    """Whether a report that holds until `until` still holds at now."""
    return until is not None and until > now


def preview_text(text: str) -> str:
    """The end of what is being typed, as the preview line shows it (the start scrolls away first); control
    characters removed, and lone surrogates, which no database stores, replaced."""
    text = without_control_characters(text).strip()
    return text[-PREVIEW_CHARS:].encode("utf-8", "replace").decode("utf-8")


@dataclass
class ActivityThrottle:
    """One participant's reports in one conversation, in the writer's own process: which ones to write.

    A change (starting or stopping to type, starting to view) is written at once; a report that only says
    "still typing" or "still viewing" is written when the previous write is an interval old. The caller passes
    the time; nothing here reads a clock.
    """

    typing: bool = False
    last_typing_write: datetime | None = None
    last_viewing_write: datetime | None = None

    def typed(self, now: datetime, typing: bool) -> bool:
        """The participant typed (typing=True) or cleared their text (False): whether to write a report now."""
        changed = typing != self.typing
        due = self.last_typing_write is None or now - self.last_typing_write >= TYPING_WRITE_INTERVAL
        # A typist whose last write has expired is "starting" again, whatever we last wrote.
        lapsed = self.last_typing_write is not None and now - self.last_typing_write >= TYPING_TTL
        if not (changed or (typing and (due or lapsed))):
            return False
        self.typing = typing
        self.last_typing_write = now
        if typing:
            self.last_viewing_write = now  # a typing report refreshes viewing too
        return True

    def viewed(self, now: datetime) -> bool:
        """The participant still has the conversation open: whether to refresh "viewing" now."""
        if self.last_viewing_write is not None and now - self.last_viewing_write < VIEWING_WRITE_INTERVAL:
            return False
        self.last_viewing_write = now
        return True

    def left(self) -> None:
        """The participant closed the conversation: the next report is a change again."""
        self.typing = False
        self.last_typing_write = None
        self.last_viewing_write = None

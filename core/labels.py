"""How an end user and their language are named to agents: one rule for the queue, the header and every notice."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from core.i18n import N_, gettext, normalize_tag


class NamedEndUser(Protocol):
    """What naming an end user needs (an EndUser row, or the EndUserRef of a listing row)."""

    @property
    def id(self) -> int | None: ...

    @property
    def name(self) -> str | None: ...

    @property
    def email(self) -> str | None: ...


@dataclass(frozen=True)
class EndUserRef:
    """An end user's id, name and email, read with a listing row or a notice."""

    id: int
    name: str | None
    email: str | None


def end_user_label(end_user: NamedEndUser, translate: Callable[[str], str] = gettext) -> str:
    """The end user's name, else their email address, else "Visitor #N" (N: their id), in translate's language."""
    if end_user.name:
        return end_user.name
    if end_user.email:
        return end_user.email
    return translate(N_("Visitor #{id}")).format(id=end_user.id)


def conversation_language(end_user_language: str | None, conversation_language: str | None,
                          default: str | None = None) -> str | None:
    """The language a conversation is answered and emailed in: the end user's preference (which an agent may
    have set), else the language the conversation started in, else default."""
    return end_user_language or conversation_language or default


def language_label(tag: str | None) -> str | None:
    """A stored language tag as agents read it: BCP 47 with a hyphen (`pt-BR`, `fr`), None when there is none."""
    if not tag:
        return None
    return (normalize_tag(tag) or tag).replace("_", "-")

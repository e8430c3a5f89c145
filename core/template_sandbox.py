"""The Jinja sandbox admin email templates live in: checking that a template parses, and rendering it with caps."""
from __future__ import annotations

import functools
import logging
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

from core.errors import InvalidInput
from core.i18n import _

log = logging.getLogger(__name__)

# Overrides are short; a huge repeat or power would stall the sender or exhaust its memory, so they are capped.
MAX_REPEAT = 100_000
MAX_EXPONENT = 100


class OverrideError(InvalidInput):
    """An override that cannot be used; names the part, the line and the reason."""

    def __init__(self, part: str, line: int | None, reason: str) -> None:
        if line:
            message = _("The {part} override has an error on line {line}: {reason}").format(
                part=part, line=line, reason=reason
            )
        else:
            message = _("The {part} override has an error: {reason}").format(part=part, reason=reason)
        super().__init__(message)
        self.part = part
        self.line = line
        self.reason = reason


class _OverrideSandbox(SandboxedEnvironment):
    """The stock sandbox (which already caps range() at 100,000) plus limits on huge repeats and powers."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
            raise OverrideError(
                "**", None, _("powers are limited to an exponent of {limit}").format(limit=MAX_EXPONENT)
            )
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                if (
                    isinstance(sequence, (str, list, tuple))
                    and isinstance(count, int)
                    and count * max(1, len(sequence)) > MAX_REPEAT
                ):
                    raise OverrideError(
                        "*", None, _("repeated text is limited to {limit} characters").format(limit=MAX_REPEAT)
                    )
        return super().call_binop(context, operator, left, right)


@functools.lru_cache(maxsize=1)
def sandbox() -> SandboxedEnvironment:
    """The sandbox overrides render in: no Python internals, undefined names are errors, no autoescape (plain text)."""
    return _OverrideSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


def check_syntax(part: str, text: str | None) -> None:
    """Raise OverrideError when text is not a Jinja template the sandbox can parse (empty text is no override)."""
    if not text or not text.strip():
        return
    try:
        sandbox().parse(text)
    except TemplateSyntaxError as exc:
        raise OverrideError(part, exc.lineno, exc.message or str(exc)) from None


def render_override(text: str, variables: dict[str, Any], fallback: str | None) -> str | None:
    """text rendered in the sandbox; if it fails at send time, fallback (the shipped text) is used and logged."""
    try:
        return sandbox().from_string(text).render(variables)
    except Exception as exc:  # noqa: BLE001 - an override must never stop an email; the shipped text takes over
        log.warning("email override failed to render (%s); using the shipped text", exc)
        return fallback


def undeclared_names(text: str) -> set[str]:
    """The variables text reads from its caller (a parsable template; check_syntax first)."""
    return set(meta.find_undeclared_variables(sandbox().parse(text)))

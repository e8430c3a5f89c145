"""Admin overrides of the notification text: validated, stored and previewed for the console (sandbox:
core.template_sandbox)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jinja2 import TemplateError, TemplateSyntaxError
from sqlmodel import Session

from core.clock import Clock
from core.config import Config
from core.email_templates import EmailTemplateService
from core.i18n import _, negotiate, translations
from core.models import EmailTemplateOverride
from core.settings import SettingsService
from core.template_sandbox import OverrideError, render_override, sandbox
from mail.compose import render_bodies, render_subject
from mail.notification_content import (
    MessageView,
    NotificationContent,
    localized_time,
    reply_address,
    widget_public_url,
)

log = logging.getLogger(__name__)

__all__ = ["OverrideError", "Preview", "check_override", "preview", "render_override", "sample_content",
           "save_override", "validate"]


def _template_line(exc: BaseException) -> int | None:
    """The template line a rendering error came from (Jinja rewrites tracebacks to point at the template)."""
    line = getattr(exc, "lineno", None)
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def check_override(part: str, text: str | None, variables: dict[str, Any]) -> None:
    """Raise OverrideError when text does not parse or does not render with sample variables."""
    if not text or not text.strip():
        return
    try:
        template = sandbox().from_string(text)
    except TemplateSyntaxError as exc:
        raise OverrideError(part, exc.lineno, exc.message or str(exc)) from None
    try:
        template.render(variables)
    except OverrideError as exc:
        raise OverrideError(part, _template_line(exc), exc.reason) from None
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as exc:
        raise OverrideError(part, _template_line(exc), str(exc) or type(exc).__name__) from None


def sample_content(language: str, brand_name: str = "Support", support_address: str = "support@example.com",
                   now: datetime | None = None, config: Config | None = None) -> NotificationContent:
    """A made-up notification in language, for validating and previewing overrides."""
    t = translations(language)
    now = now or datetime(2026, 1, 5, 9, 0).astimezone()
    base = widget_public_url(config) if config else "https://support.example.com"
    reply = reply_address(config, support_address, "sample-token") if config else support_address
    return NotificationContent(
        message_id=f"<preview@{support_address.rpartition('@')[2] or 'example.com'}>",
        to_address="end.user@example.com", to_name="Alex", language=language, brand_name=brand_name,
        support_address=support_address, reply_address=reply, conversation_public_id="preview",
        conversation_url=f"{base}/return/preview",
        unread=[
            MessageView("Sam", localized_time(now - timedelta(minutes=12), language, None),
                        t.gettext("Thanks for waiting! Your order shipped this morning.")),
            MessageView("Sam", localized_time(now - timedelta(minutes=11), language, None),
                        t.gettext("Here is the tracking number: 123456.")),
        ],
        recap=[MessageView(t.gettext("You"), localized_time(now - timedelta(minutes=20), language, None),
                           t.gettext("Where is my order?"), from_end_user=True)],
    )


def validate(subject: str | None, body: str | None, language: str = "en") -> None:
    """Raise OverrideError for the first part that does not parse or render."""
    variables = sample_content(language).variables()
    check_override(_("subject"), subject, variables)
    check_override(_("body"), body, variables)


def save_override(session: Session, clock: Clock, language: str, *, subject: str | None = None,
                  body: str | None = None, agent_id: int | None = None) -> EmailTemplateOverride:
    """Validate, then store; an invalid override raises OverrideError and the stored text stays as it was."""
    validate(subject, body, language)
    return EmailTemplateService(session, clock).set(language, subject=subject, body=body, agent_id=agent_id)


@dataclass(frozen=True)
class Preview:
    language: str
    subject: str
    text: str
    html: str


def preview(session: Session, clock: Clock, language: str, *, subject: str | None = None, body: str | None = None,
            config: Config | None = None) -> Preview:
    """Render a sample notification in language with the stored override, or with the candidate texts given."""
    language = negotiate(language)
    settings = SettingsService(session, clock).load()
    content = sample_content(language, settings.brand_name, settings.support_address or "support@example.com",
                             now=clock.now(), config=config)
    stored = EmailTemplateService(session, clock).get(language)
    content.override_subject = subject if subject is not None else (stored.subject if stored else None)
    content.override_body = body if body is not None else (stored.body if stored else None)
    validate(content.override_subject, content.override_body, language)
    text, html = render_bodies(content)
    return Preview(language=language, subject=render_subject(content), text=text, html=html)

"""Admin overrides of the notification email's subject and body, one row per language, stored in the database.

The texts are Jinja templates: set() refuses one that does not parse in the sandbox (core.template_sandbox), so
every path that stores one validates it; mail.overrides also renders it with sample values before it calls set().
"""
from __future__ import annotations

from sqlmodel import Session, col, select

from core.clock import Clock
from core.errors import InvalidInput, NotFound
from core.event_kinds import EventKind
from core.events import record_event
from core.i18n import _
from core.language_tags import language_tag
from core.models import EmailTemplateOverride
from core.template_sandbox import check_syntax
from core.transactions import transactional

MAX_TEMPLATE_CHARS = 20_000
MAX_SUBJECT_CHARS = 500


def _language(language: str) -> str:
    return language_tag(language)


class EmailTemplateService:
    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def get(self, language: str) -> EmailTemplateOverride | None:
        return self.session.get(EmailTemplateOverride, _language(language))

    def all(self) -> list[EmailTemplateOverride]:
        return list(self.session.exec(select(EmailTemplateOverride).order_by(col(EmailTemplateOverride.language))))

    @transactional
    def set(self, language: str, *, subject: str | None = None, body: str | None = None,
            agent_id: int | None = None) -> EmailTemplateOverride:
        """Store an override that parses in the sandbox (else OverrideError); None or blank keeps the shipped text."""
        language = _language(language)
        subject = subject if subject and subject.strip() else None
        body = body if body and body.strip() else None
        if subject is not None and (len(subject) > MAX_SUBJECT_CHARS or "\n" in subject.strip()):
            raise InvalidInput(
                _("The subject must be one line of at most {limit} characters.").format(limit=MAX_SUBJECT_CHARS)
            )
        if body is not None and len(body) > MAX_TEMPLATE_CHARS:
            raise InvalidInput(_("The body is longer than {limit} characters.").format(limit=MAX_TEMPLATE_CHARS))
        if subject is None and body is None:
            raise InvalidInput(
                _("Give a subject or a body to override; to go back to the shipped text, clear the override.")
            )
        check_syntax(_("subject"), subject)
        check_syntax(_("body"), body)
        now = self.clock.now()
        row = self.session.get(EmailTemplateOverride, language) or EmailTemplateOverride(
            language=language, updated_at=now
        )
        row.subject = subject.strip() if subject else None
        row.body = body
        row.updated_at = now
        row.updated_by = agent_id
        self.session.add(row)
        record_event(self.session, now, EventKind.email_template_set, None, language=language,
                     subject=row.subject is not None, body=row.body is not None, agent_id=agent_id)
        return row

    @transactional
    def clear(self, language: str, agent_id: int | None = None) -> None:
        language = _language(language)
        row = self.session.get(EmailTemplateOverride, language)
        if row is None:
            raise NotFound(_("There is no email override for {language}.").format(language=language))
        self.session.delete(row)
        record_event(
            self.session, self.clock.now(), EventKind.email_template_cleared, None, language=language, agent_id=agent_id
        )

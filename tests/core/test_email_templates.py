"""EmailTemplateService validates every template it stores, whoever calls it (the console, mail, the CLI)."""
from __future__ import annotations

import pytest
from sqlmodel import select

from core.email_templates import EmailTemplateService
from core.models import EmailTemplateOverride, Event
from core.template_sandbox import OverrideError


def test_set_refuses_a_template_that_does_not_parse_and_changes_nothing(session, clock):
    service = EmailTemplateService(session, clock)
    service.set("en", subject="Hello {{ brand_name }}", body="Dear {{ to_name }}")
    events_before = len(list(session.exec(select(Event))))
    with pytest.raises(OverrideError) as caught:
        service.set("en", body="Line one\n{% if brand_name %}never closed")
    assert caught.value.line == 2
    with pytest.raises(OverrideError):
        service.set("en", subject="{{ unclosed")
    session.expire_all()
    stored = session.get(EmailTemplateOverride, "en")
    assert (stored.subject, stored.body) == ("Hello {{ brand_name }}", "Dear {{ to_name }}")
    assert len(list(session.exec(select(Event)))) == events_before


def test_set_stores_a_template_that_parses(session, clock):
    row = EmailTemplateService(session, clock).set("de", body="{% for m in unread %}{{ m }}{% endfor %}")
    assert row.body.startswith("{% for")

"""Admin overrides of subject and body: sandboxed, validated with line and reason, previewed, used when sending."""
from __future__ import annotations

import pytest

from core.email_templates import EmailTemplateService
from core.models import OutboxJob
from core.template_sandbox import OverrideError
from mail.compose import build_email
from mail.notification_content import NotificationGatherer
from mail.overrides import preview, save_override, validate
from tests.fixtures.smtp import mail_config

GOOD_SUBJECT = "{{ brand_name }}: {{ unread_count }} new for {{ end_user_name }}"
GOOD_BODY = """Hi {{ end_user_name }},
{{ unread_line }}
{% for m in messages %}{{ m.author }} wrote: {{ m.body }}
{% endfor %}
Continue: {{ conversation_url }}
"""


def _email(world, job_id: int):
    with world.db.read_session() as session:
        job = session.get(OutboxJob, job_id)
        content = NotificationGatherer(session, mail_config(25), world.signer, world.clock.now()).gather(job)
    return build_email(content, world.clock.now())


def test_a_valid_override_is_stored_and_used(world):
    with world.db.session() as session:
        save_override(session, world.clock, "en", subject=GOOD_SUBJECT, body=GOOD_BODY)
    job_id = world.notify(world.conversation(), ["<script>x()</script> fixed", "Anything else?"])
    message = _email(world, job_id)
    assert message["Subject"] == "Acme Help: 2 new for Alex"
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "Hi Alex,\nYou have 2 unread messages.\nSam Agent wrote: <script>x()</script> fixed\n" in text
    assert "Continue: https://support.example.com/return/" in text
    html = message.get_body(("html",)).get_content()
    assert "&lt;script&gt;x()&lt;/script&gt; fixed" in html and "<script>" not in html


def test_override_applies_only_to_its_language(world):
    with world.db.session() as session:
        save_override(session, world.clock, "de", subject="Neu: {{ unread_count }}")
    message = _email(world, world.notify(world.conversation(), ["Hi"]))
    assert message["Subject"] == "New reply from Acme Help"


def test_syntax_error_names_the_line_and_keeps_the_previous_text(world):
    with world.db.session() as session:
        save_override(session, world.clock, "en", body=GOOD_BODY)
        with pytest.raises(OverrideError) as caught:
            save_override(session, world.clock, "en", body="Hello\n{% for m in messages %}\n{{ m.body }\n")
    assert caught.value.line == 3
    assert "line 3" in caught.value.message
    with world.db.read_session() as session:
        assert EmailTemplateService(session, world.clock).get("en").body == GOOD_BODY


@pytest.mark.parametrize("attack", [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ lipsum.__globals__['os'].system('true') }}",
    "{{ messages.__class__.__init__.__globals__ }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
])
def test_reaching_python_internals_is_blocked(world, attack):
    with world.db.session() as session:
        with pytest.raises(OverrideError) as caught:
            save_override(session, world.clock, "en", subject="Hi", body="ok\n" + attack)
    assert "unsafe" in caught.value.reason or "undefined" in caught.value.reason
    assert caught.value.line == 2
    with world.db.read_session() as session:
        assert EmailTemplateService(session, world.clock).get("en") is None


def test_unknown_variables_and_huge_loops_are_rejected():
    with pytest.raises(OverrideError) as caught:
        validate("Hi {{ customer }}", None)
    assert "customer" in caught.value.reason and caught.value.part == "subject"
    for stall in ("{% for i in range(10000000) %}x{% endfor %}", "{{ 'x' * 1000000000 }}",
                  "{{ [1, 2] * 10000000 }}", "{{ 2 ** 100000000 }}"):
        with pytest.raises(OverrideError):
            validate(None, stall)
    validate(None, "{{ '-' * 20 }} {% for i in range(3) %}{{ i }}{% endfor %} {{ 2 ** 8 }}")


def test_an_override_failing_at_send_time_falls_back_to_the_shipped_text(world):
    with world.db.session() as session:
        # Stored without validation (as an older release might have): the third message does not exist.
        EmailTemplateService(session, world.clock).set("en", body="{{ messages[2].body }}")
    message = _email(world, world.notify(world.conversation(), ["Only one reply."]))
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "You have 1 unread message." in text and "Only one reply." in text


def test_preview_renders_candidate_and_stored_text(world):
    with world.db.session() as session:
        candidate = preview(session, world.clock, "en", subject=GOOD_SUBJECT, body=GOOD_BODY)
        assert candidate.subject == "Acme Help: 2 new for Alex"
        assert candidate.text.startswith("Hi Alex,\nYou have 2 unread messages.")
        shipped = preview(session, world.clock, "ar")
        assert 'dir="rtl"' in shipped.html and shipped.language == "ar"
        with pytest.raises(OverrideError):
            preview(session, world.clock, "en", body="{% if %}")


def test_clearing_goes_back_to_the_shipped_text(world):
    with world.db.session() as session:
        save_override(session, world.clock, "en", subject="Custom")
        EmailTemplateService(session, world.clock).clear("en")
    assert _email(world, world.notify(world.conversation(), ["Hi"]))["Subject"] == "New reply from Acme Help"

"""Composition in every shipped language: language choice, plural lines, localized times, direction, threading."""
from __future__ import annotations

import pytest

from core.i18n import translations
from core.models import OutboxJob
from mail.compose import build_email, format_address
from mail.language import email_language
from mail.notification_content import NotificationGatherer, localized_time
from tests.fixtures.smtp import mail_config

SHIPPED = ["en", "de", "fr", "es", "pt_BR", "ja", "pl", "ar"]


def _email(world, job_id: int, **mail):
    with world.db.read_session() as session:
        job = session.get(OutboxJob, job_id)
        content = NotificationGatherer(session, mail_config(25, **mail), world.signer, world.clock.now()).gather(job)
    return content, build_email(content, world.clock.now())


def _text(message, subtype="plain") -> str:
    return message.get_body((subtype,)).get_content().replace("\r\n", "\n")


@pytest.mark.parametrize("language", SHIPPED)
def test_renders_in_every_shipped_language(world, language):
    t = translations(language)
    job_id = world.notify(world.conversation(language=language.replace("_", "-")), ["One", "Two", "Three"])
    content, message = _email(world, job_id)
    assert content.language == language
    assert message["Content-Language"] == language.replace("_", "-")
    assert message["Subject"] == t.ngettext("New reply from {brand}", "{count} new replies from {brand}", 3).format(
        count=3, brand="Acme Help")
    text, html = _text(message), _text(message, "html")
    plural_line = t.ngettext("You have %(num)d unread message.", "You have %(num)d unread messages.", 3) % {"num": 3}
    for part in (text, html):
        assert plural_line in part
    assert t.gettext("Reply to this email to continue the conversation.") in text
    assert t.gettext("Hello %(name)s,") % {"name": "Alex"} in text
    assert ('dir="rtl"' in html) == (language == "ar")
    assert f'lang="{language.replace("_", "-")}"' in html
    if language != "en":
        # A real translation, not the English source text.
        assert "unread messages" not in text and "Reply to this email" not in text


def test_polish_and_arabic_plural_forms_differ_by_count():
    def line(language: str, n: int) -> str:
        return translations(language).ngettext(
            "You have %(num)d unread message.", "You have %(num)d unread messages.", n
        ) % {"num": n}

    assert len({line("pl", n).replace(str(n), "N") for n in (1, 2, 5)}) == 3
    assert line("pl", 22).replace("22", "N") == line("pl", 2).replace("2", "N")
    assert len({line("ar", n).replace(str(n), "N") for n in (0, 1, 2, 3, 11, 100)}) == 6


@pytest.mark.parametrize("profile, conversation, default, expected", [
    ("pt-BR", None, "en", "pt_BR"),
    ("de-AT", "fr", "en", "de"),
    (None, "fr", "de", "fr"),
    ("xx", None, "es", "es"),
    ("tlh", "zz", "qq", "en"),
    (None, None, "ja", "ja"),
])
def test_language_fallback_chain(profile, conversation, default, expected):
    assert email_language(profile, conversation, default) == expected


def test_profile_then_conversation_then_account_default(world):
    with world.db.session() as session:
        from core.settings import SettingsService

        SettingsService(session, world.clock).update(default_language="pl")
    content, _ = _email(world, world.notify(world.conversation(language=None, conversation_language="fr"), ["x"]))
    assert content.language == "fr"
    content, _ = _email(world, world.notify(world.conversation(language=None), ["x"]))
    assert content.language == "pl"


def test_times_are_in_the_end_users_zone_when_known(world):
    # The fixed clock starts at 09:00 UTC; messages are posted a minute apart.
    content, _message = _email(world, world.notify(world.conversation(timezone="Asia/Tokyo", language="en"), ["x"]))
    assert content.unread[0].time == localized_time(world.clock.now(), "en", "Asia/Tokyo")
    assert "6:0" in content.unread[0].time and "PM" in content.unread[0].time and "+0900" in content.unread[0].time
    content, _ = _email(world, world.notify(world.conversation(language="en"), ["y"]))
    assert "AM" in content.unread[0].time and "UTC" in content.unread[0].time


def test_recap_shows_the_last_earlier_messages_set_apart(world):
    earlier = [("user", f"question {i}") if i % 2 else ("agent", f"answer {i}") for i in range(1, 9)]
    conversation_id = world.conversation(earlier=earlier)
    _, message = _email(world, world.notify(conversation_id, ["The new reply."]), recap_count=3)
    text = _text(message)
    recap = text.split("-- Earlier in this conversation --")[1]
    assert "The new reply." not in recap and "The new reply." in text.split("Earlier in this conversation")[0]
    assert [line for line in recap.splitlines() if line.startswith("> ") and "·" not in line] == [
        "> answer 6", "> question 7", "> answer 8"]
    assert "> You · " in recap
    _, message = _email(world, world.notify(conversation_id, ["Another."]), recap_count=0)
    assert "Earlier in this conversation" not in _text(message)


def test_reply_address_form_is_configurable(world):
    content, message = _email(world, world.notify(world.conversation(), ["x"]),
                              reply_address_form="{local}-reply-{token}@{domain}")
    token = world.signer.reply_token(world.job(content.job_id).conversation_id)
    assert message["Reply-To"].addresses[0].addr_spec == f"help-reply-{token}@example.com"


def test_names_cannot_inject_headers(world):
    conversation_id = world.conversation(name='Eve "Admin", <x@evil.example>')
    _, message = _email(world, world.notify(conversation_id, ["x"]))
    assert message["To"].addresses[0].addr_spec == "alex@example.org"
    assert format_address("Zoë", "zoe@example.org") == "=?utf-8?b?Wm/Dqw==?= <zoe@example.org>"

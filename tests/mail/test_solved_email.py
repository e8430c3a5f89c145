"""The notification email for a solved conversation does not ask for a rating: the widget asks, once, and only there."""
from __future__ import annotations

import pytest

from core.conversations import ConversationService
from core.i18n import translations
from core.models import ConversationStatus, OutboxJob
from mail.compose import build_email
from mail.notification_content import NotificationGatherer
from tests.fixtures.smtp import mail_config
from widget.strings import WIDGET_STRINGS

# "Good" and "Bad" alone are too common words to look for.
RATING_KEYS = ("rating_question", "rating_comment", "rating_submit", "rating_thanks")


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_email_for_a_solved_conversation_has_no_rating_question(world, language):
    conversation_id = world.conversation(language=language)
    job_id = world.notify(conversation_id, ["Your refund is on its way. All done!"])
    with world.db.session() as session:
        ConversationService(session, world.clock).set_status(conversation_id, ConversationStatus.solved)
    with world.db.read_session() as session:
        content = NotificationGatherer(session, mail_config(25), world.signer, world.clock.now()).gather(
            session.get(OutboxJob, job_id))
    message = build_email(content, world.clock.now())
    translate = translations(language).gettext
    parts = [message["Subject"], *(message.get_body((kind,)).get_content() for kind in ("plain", "html"))]
    assert "Your refund is on its way" in parts[1]  # the email is the real one, with the agent's reply
    for part in parts:
        for key in RATING_KEYS:
            assert translate(WIDGET_STRINGS[key]) not in part
        assert "/rating" not in part

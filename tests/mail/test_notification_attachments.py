"""Notification emails link the emailed messages' files (name, size, signed expiring link) in text and HTML; the
links download through the widget server until they expire, and only for their own conversation."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import select
from starlette.testclient import TestClient

from core.attachments import AttachmentService
from core.models import Attachment, AuthorKind, OutboxJob
from mail.compose import build_email
from mail.notification_content import NotificationGatherer
from tests.fixtures.smtp import mail_config
from widget.app import create_app

PDF = b"%PDF-1.4\n%%EOF\n" + b"0" * 2000


def _attach(world, conversation_id: int, name: str, content: bytes) -> Attachment:
    with world.db.session() as session:
        files = AttachmentService(session, world.clock)
        return files.post_file(conversation_id, AuthorKind.agent, files.check(name, content), agent_id=world.agent_id,
                               text="The form you asked for")


def _email(world, config, conversation_id: int):
    with world.db.session() as session:
        job = session.exec(select(OutboxJob).where(OutboxJob.conversation_id == conversation_id)).one()
        content = NotificationGatherer(session, config, world.signer, world.clock.now()).gather(job)
    message = build_email(content, world.clock.now())
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return text, html


def _notified_with_file(world, name="Formular März.pdf"):
    conversation_id = world.conversation(language="de")
    attachment = _attach(world, conversation_id, name, PDF)
    world.notify(conversation_id, ["See above"])
    with world.db.session() as session:  # the job covers both unread agent messages, the file's one first
        job = session.exec(select(OutboxJob).where(OutboxJob.conversation_id == conversation_id)).one()
        job.first_seq = 1
        session.add(job)
        session.commit()
    return conversation_id, attachment


def test_files_are_listed_with_name_size_and_a_signed_link_in_text_and_html(world):
    config = mail_config(25)
    conversation_id, attachment = _notified_with_file(world)
    text, html = _email(world, config, conversation_id)
    [text_url] = re.findall(r"https://support\.example\.com/api/v1/attachments/\S+", text)
    assert "Formular März.pdf" in text and "2 kB" in text.replace("\xa0", " ")
    assert f"/api/v1/attachments/{attachment.public_id}?token=" in text_url
    assert "Formular März.pdf</a>" in html and f'href="{text_url}"' in html
    assert "Content-Disposition: attachment" not in build_email_text(world, config, conversation_id)  # linked only


def build_email_text(world, config, conversation_id) -> str:
    with world.db.session() as session:
        job = session.exec(select(OutboxJob).where(OutboxJob.conversation_id == conversation_id)).one()
        content = NotificationGatherer(session, config, world.signer, world.clock.now()).gather(job)
    return build_email(content, world.clock.now()).as_string()


def test_the_emailed_link_downloads_until_it_expires_and_never_for_another_conversation(world):
    config = mail_config(25)
    config.attachments.link_days = 3
    conversation_id, attachment = _notified_with_file(world)
    other_id, other = _notified_with_file(world, "other.pdf")
    text, _html = _email(world, config, conversation_id)
    url = re.findall(r"https://support\.example\.com(/api/v1/attachments/\S+)", text)[0]
    app = create_app(config, world.db, world.clock, world.signer)
    with TestClient(app, base_url="https://support.example.com") as client:
        response = client.get(url)
        assert response.status_code == 200 and response.content == PDF
        assert response.headers["content-disposition"].startswith("attachment;")
        token = url.split("token=")[1]
        # The same signed token does not open a file of another conversation.
        assert client.get(f"/api/v1/attachments/{other.public_id}?token={token}").status_code == 404
        foreign = world.signer.attachment_link_token(attachment.id, other_id, world.clock.now() + timedelta(days=1))
        assert client.get(f"/api/v1/attachments/{attachment.public_id}?token={foreign}").status_code == 404
        world.clock.advance(timedelta(days=3, seconds=1))
        expired = client.get(url)
        assert expired.status_code == 404 and expired.json()["error"]["code"] == "not_found"

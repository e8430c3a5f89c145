"""`threadline send-test-email` through the real command line and a real SMTP server."""
from __future__ import annotations

import asyncio

from tests.fixtures.smtp import TEST_SECRET
from threadline.cli import main


def _config(tmp_path, database_url: str, port: int) -> str:
    path = tmp_path / "threadline.toml"
    path.write_text(
        f'[general]\nsecret = "{TEST_SECRET}"\ndata_dir = "{tmp_path}"\n'
        f'[database]\nurl = "{database_url}"\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\ntimeout = 5\n'
    )
    return str(path)


async def test_sends_a_sample_in_the_asked_language(world, smtp_server, database_url, tmp_path, capsys):
    config = _config(tmp_path, database_url, smtp_server.port)
    code = await asyncio.to_thread(
        main, ["--config", config, "send-test-email", "Admin@Example.net", "--lang", "fr-CA"]
    )
    assert code == 0
    [received] = smtp_server.received
    message = received.message
    assert received.rcpt_tos == ["Admin@example.net"]
    assert message["From"].addresses[0].addr_spec == "help@example.com"
    assert message["Auto-Submitted"] == "auto-generated"
    out = capsys.readouterr().out
    assert "Admin@example.net" in out and message["Message-ID"] in out
    # fr-CA negotiates to the French catalog.
    assert message["Content-Language"] == "fr"
    assert "Répondez à cet e-mail pour poursuivre la conversation." in message.get_body(("plain",)).get_content()


async def test_a_refused_address_fails_with_the_reason(world, scripted_smtp_server, database_url, tmp_path, capsys):
    server = await scripted_smtp_server(["550 5.1.1 No such user"])
    config = _config(tmp_path, database_url, server.port)
    code = await asyncio.to_thread(main, ["--config", config, "send-test-email", "nobody@example.net"])
    assert code == 1
    assert "550 5.1.1 No such user" in capsys.readouterr().err


def test_a_bad_address_is_refused_before_sending(world, database_url, tmp_path, capsys, down_smtp_port):
    config = _config(tmp_path, database_url, down_smtp_port)
    assert main(["--config", config, "send-test-email", "not an address"]) == 1
    assert "not a valid email address" in capsys.readouterr().err


async def test_the_test_email_is_a_real_notification_that_an_answer_threads_into(
        world, smtp_server, database_url, tmp_path, capsys):
    from email.message import EmailMessage

    from sqlmodel import select

    from core.models import Conversation, Message, OutboxJob, OutboxStatus
    from mail.reply_threading import token_in_message_id
    from mail.routing import file_raw_email
    from tests.fixtures.smtp import mail_config

    config = _config(tmp_path, database_url, smtp_server.port)
    assert await asyncio.to_thread(main, ["--config", config, "send-test-email", "ops@example.net"]) == 0
    [received] = smtp_server.received
    message = received.message
    with world.db.read_session() as session:
        [job] = session.exec(select(OutboxJob)).all()
        conversation = session.get(Conversation, job.conversation_id)
        assert job.status is OutboxStatus.sent and job.to_address == "ops@example.net"
        assert conversation.notified_seq == conversation.last_seq == 1 and conversation.notify_due_at is None
    # The same Message-ID form as every notification, carrying this conversation's reply token.
    assert message["Message-ID"] == job.message_id
    local = job.message_id.strip("<>").rpartition("@")[0]
    assert world.signer.verify_reply_token(token_in_message_id(local)) == conversation.id
    reply_to = message["Reply-To"].addresses[0].addr_spec
    assert world.signer.verify_reply_token(reply_to.split("+", 1)[1].split("@")[0]) == conversation.id
    text = message.get_body(("plain",)).get_content()
    link = text.split("website: ")[1].split()[0]
    assert world.signer.verify_return_link_token(link.rsplit("/", 1)[1], world.clock.now())[0] == conversation.id
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    answer = EmailMessage()
    answer["From"] = "ops@example.net"
    answer["To"] = reply_to
    answer["Subject"] = "Re: " + str(message["Subject"])
    answer["Message-ID"] = "<answer-1@example.net>"
    answer["In-Reply-To"] = message["Message-ID"]
    answer.set_content("It arrived, thanks.")
    with world.db.session() as session:
        file_raw_email(session, world.clock, mail_config(smtp_server.port), world.signer, answer.as_bytes())
    with world.db.read_session() as session:
        posted = session.exec(select(Message).where(Message.conversation_id == conversation.id,
                                                    Message.seq == 2)).one()
        assert posted.body == "It arrived, thanks."

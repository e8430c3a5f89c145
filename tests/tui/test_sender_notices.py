"""The console tells agents once when email sending pauses for a server-wide failure, and once when it resumes."""
from __future__ import annotations

from core.settings import SettingsService
from mail.sender import OutboxSender
from tests.fixtures.smtp import NotificationWorld, mail_config
from tests.tui.helpers import rows_loaded, wait_for
from threadline.embedded_smtp import EmbeddedSmtpServer


def _notices(app, word: str) -> list:
    return [n for n in app._notifications if word in n.message]


async def test_a_pause_is_announced_once_not_per_email_or_try(desk, make_console, down_smtp_port):
    with desk.db.session() as session:
        SettingsService(session, desk.clock).update(support_address="help@example.com")
    world = NotificationWorld(desk.db, desk.clock, agent_id=desk.agent_id)
    for key in ("alex", "chen", "eli"):
        world.notify(desk.conversations[key], [f"An answer for {key}"])
    sender = OutboxSender(desk.db, mail_config(down_smtp_port), world.signer, desk.clock, worker_id="console-test",
                          rng=lambda: 0.5)

    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: rows_loaded(app))
        assert await sender.run_once() == 3  # three emails, one pause
        desk.clock.advance(sender.pause.seconds_left(desk.clock.now()))
        assert await sender.run_once() == 3  # a second failed try extends the pause silently
        await wait_for(pilot, lambda: _notices(app, "paused"), what="the pause notice")

        server = EmbeddedSmtpServer(port=down_smtp_port)
        await server.start()
        try:
            desk.clock.advance(sender.pause.seconds_left(desk.clock.now()))
            assert await sender.run_once() == 3
            await sender.pool.close()
        finally:
            await server.stop()
        await wait_for(pilot, lambda: _notices(app, "resumed"), what="the resume notice")

        [paused] = _notices(app, "paused")
        assert "cannot be reached" in paused.message and "stay queued" in paused.message
        assert paused.markup is False  # the reason quotes the server, which is outside text
        assert len(_notices(app, "resumed")) == 1
        assert len(server.received) == 3

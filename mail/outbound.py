"""The outbound half of `serve`: the notification scheduler and the SMTP sender, wired so a claim nudges the sender."""
from __future__ import annotations

import asyncio
import logging

from core.clock import Clock
from core.config import Config
from core.db import Database
from core.tokens import TokenSigner
from mail.scheduler import NotificationScheduler
from mail.sender import OutboxSender, default_worker_id

log = logging.getLogger(__name__)


class OutboundMail:
    """Runs both loops until stop(); stopping lets the sender record the batch in hand first."""

    def __init__(self, db: Database, config: Config, signer: TokenSigner, clock: Clock, *,
                 worker_id: str | None = None) -> None:
        worker_id = worker_id or default_worker_id()
        self.sender = OutboxSender(db, config, signer, clock, worker_id=worker_id)
        self.scheduler = NotificationScheduler(
            db,
            clock,
            signer,
            message_id_domain=config.mail.message_id_domain,
            worker_id=worker_id,
            unverified_daily_limit=config.widget.unverified_emails_per_day,
            on_claimed=lambda count: self.sender.nudge(),
        )
        self._tasks: list[asyncio.Task[None]] = []

    async def run(self) -> None:
        self._tasks = [asyncio.create_task(self.scheduler.run(), name="notification-scheduler"),
                       asyncio.create_task(self.sender.run(), name="outbox-sender")]
        try:
            await asyncio.gather(*self._tasks)
        finally:
            for task in self._tasks:
                task.cancel()

    async def stop(self) -> None:
        await self.scheduler.stop()
        await self.sender.stop()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

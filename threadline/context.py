"""What every command needs, built once from the configuration: the database, the clock, the token signer."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

from core.clock import Clock, SystemClock
from core.config import Config
from core.database_url import check_database_url
from core.db import Database
from core.tokens import TokenSigner
from threadline.blob_s3 import install_blob_store


@dataclass
class AppContext:
    config: Config
    clock: Clock = field(default_factory=SystemClock)

    @functools.cached_property
    def db(self) -> Database:
        # A bad URL, a missing driver or folder: one line naming the fix, before SQLAlchemy or a driver fails deeper.
        check_database_url(self.config.database_url, data_dir=self.config.data_path)
        # Every command that opens the database stores and reads attachments where the configuration says.
        install_blob_store(self.config.attachments)
        database = self.config.database
        return Database(self.config.database_url, write_timeout=database.write_timeout,
                        pool_size=database.pool_size, max_overflow=database.max_overflow)

    @functools.cached_property
    def signer(self) -> TokenSigner:
        return TokenSigner(self.config.secret())

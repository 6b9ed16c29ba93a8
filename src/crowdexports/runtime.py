"""The wired-up service: settings plus the backends built from them, shared by API, worker and CLI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from crowdexports.config import Settings
from crowdexports.mail.base import Mailer
from crowdexports.storage.base import Storage


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    storage: Storage
    mailer: Mailer
    # "Look at export N": enqueues a message after the row is committed. The row is the truth;
    # a lost message is found again by the sweep.
    dispatch_export: Callable[[int], None]
    # Messages waiting in the queue (for /metrics and /healthz); None where no queue is wired (tests).
    queue_size: Callable[[], int] | None = None

    @property
    def reads_on_event_loop(self) -> bool:
        """Whether the API may read the database on its event loop (api/deps.py `in_database`): SQLite only."""
        return self.engine.dialect.name == "sqlite"

"""The wired-up service: settings plus the backends built from them, shared by API, worker and CLI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from crowdexports.config import Settings
from crowdexports.mail.base import Mailer
from crowdexports.storage.base import Storage


@dataclass(frozen=True)
class Runtime:
    """Built once (bootstrap.build_service) and never changed: a test that needs other settings or
    backends builds a runtime of its own (`dataclasses.replace`). Ringing the worker's doorbell is not
    here: the queue's tasks are bound to a runtime, so the API is given their dispatcher (api/app.py)."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    storage: Storage
    mailer: Mailer
    # Messages waiting in the queue (for /metrics and /healthz); None where no queue is wired (tests).
    queue_size: Callable[[], int] | None = None

    @property
    def reads_on_event_loop(self) -> bool:
        """Whether the API may read the database on its event loop (api/deps.py `in_database`): SQLite only."""
        return self.engine.dialect.name == "sqlite"

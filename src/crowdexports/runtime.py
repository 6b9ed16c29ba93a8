"""The wired-up service: settings plus the backends built from them (database, storage, mailer, queue),
shared by API, worker and CLI. The one place things are wired."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from crowdexports import mail, storage
from crowdexports.config import Settings
from crowdexports.database.engine import make_engine, make_session_factory
from crowdexports.mail.base import Mailer
from crowdexports.storage.base import Storage
from crowdexports.worker.queue import make_huey
from crowdexports.worker.tasks import Tasks, bind_tasks


@dataclass(frozen=True)
class Runtime:
    """Built once (build_service, below) and never changed: a test that needs other settings or
    backends builds a runtime of its own (`dataclasses.replace`). Ringing the worker's doorbell is not
    here: the queue's tasks are bound to a runtime, so the API is given their dispatcher (api/app.py)."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    storage: Storage
    mailer: Mailer
    # Messages waiting in the queue (for /metrics and /healthz); None where no queue is wired (tests).
    queue_size: Callable[[], int] | None = None
    # Seconds since the epoch, for the rate limits' windows: a test fixes it so a window never ends mid-test.
    clock: Callable[[], float] = time.time

    @property
    def reads_on_event_loop(self) -> bool:
        """Whether the API may read the database on its event loop (api/database.py `in_database`): SQLite only."""
        return self.engine.dialect.name == "sqlite"


@dataclass(frozen=True)
class Service:
    runtime: Runtime
    tasks: Tasks


def connections_needed(settings: Settings, *, api: bool, export_threads: int) -> int:
    """Database connections one process uses at once: two per API request being worked on (at most
    `api_concurrency`: the rest wait holding none), its Core connection and a write's session; two
    per export thread (its row stream and its heartbeats); one for the sweep, one for a health probe; and
    beside export threads, the webhook sender's (webhooks/sender.py): one per slot and one to claim."""
    sender = settings.webhook_concurrency + 1 if export_threads else 0
    return (2 * settings.api_concurrency if api else 0) + 2 * export_threads + 2 + sender


def build_service(settings: Settings, *, connections: int | None = None) -> Service:
    """The wired service; `connections` sizes the database pool (default: an API and two export threads).
    The queue comes first, the runtime over it, then the tasks bound to that runtime: nothing is
    patched in afterwards."""
    if connections is None:
        connections = connections_needed(settings, api=True, export_threads=2)
    huey = make_huey(settings.resolved_broker_url, name=settings.queue_name)
    engine = make_engine(settings.resolved_database_url, connections)
    runtime = Runtime(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        storage=storage.from_url(settings.resolved_storage_url, s3_endpoint_url=settings.s3_endpoint_url,
                                 s3_region=settings.s3_region),
        mailer=mail.from_url(settings.smtp_url, settings.outbox_dir),
        queue_size=huey.pending_count,
    )
    return Service(runtime, bind_tasks(huey, runtime))

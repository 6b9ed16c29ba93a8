"""Build the runtime (database, storage, mailer, queue) from settings: the one place things are wired."""

from __future__ import annotations

from dataclasses import dataclass

from crowdexports import mail, storage
from crowdexports.config import Settings
from crowdexports.db import make_engine, make_session_factory
from crowdexports.runtime import Runtime
from crowdexports.worker.queue import make_huey
from crowdexports.worker.tasks import Tasks, bind_tasks


@dataclass
class Service:
    runtime: Runtime
    tasks: Tasks


def build_service(settings: Settings, *, immediate: bool = False) -> Service:
    engine = make_engine(settings.resolved_database_url)
    runtime = Runtime(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        storage=storage.from_url(settings.resolved_storage_url, s3_endpoint_url=settings.s3_endpoint_url,
                                 s3_region=settings.s3_region),
        mailer=mail.from_url(settings.smtp_url, settings.outbox_dir),
        dispatch_export=lambda export_id: None,
    )
    tasks = bind_tasks(make_huey(settings.resolved_broker_url, name=settings.queue_name, immediate=immediate), runtime)
    runtime.dispatch_export = tasks.dispatch_export
    runtime.queue_size = tasks.huey.pending_count
    return Service(runtime, tasks)

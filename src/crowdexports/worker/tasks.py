"""Thin Huey tasks and the sweep; the work itself is in exports.runner and exports.emailing."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from huey import Huey

from crowdexports.exports import idempotency, lifecycle, retention
from crowdexports.exports.emailing import EmailOutcome, deliver_email
from crowdexports.exports.runner import Outcome, RunningExports, run_export
from crowdexports.schedules import firing

if TYPE_CHECKING:  # runtime.py wires these modules together, so they may not import it
    from crowdexports.runtime import Runtime

logger = logging.getLogger(__name__)


class ExportTask(Protocol):
    """What Huey's task decorator makes of a function of an export id (Huey ships no types)."""

    def __call__(self, export_id: int) -> object: ...

    def schedule(self, *, args: tuple[int], delay: float) -> object: ...

    def call_local(self, export_id: int) -> object: ...


def _export_task(huey: Huey, name: str) -> Callable[[Callable[[int], object]], ExportTask]:
    """`huey.task(name=name)`, typed."""
    decorator: Callable[[Callable[[int], object]], ExportTask] = huey.task(name=name)
    return decorator


@dataclass(frozen=True)
class Tasks:
    """The task callables bound to one Huey instance and one runtime (API and worker bind the same names),
    and the exports their consumer threads are making."""

    huey: Huey
    process_export: ExportTask
    send_export_email: ExportTask
    running: RunningExports

    def dispatch_export(self, export_id: int) -> None:
        self.process_export(export_id)

    def dispatch_email(self, export_id: int, delay: float = 0.0) -> None:
        if delay > 0:
            self.send_export_email.schedule(args=(export_id,), delay=delay)
        else:
            self.send_export_email(export_id)


def bind_tasks(huey: Huey, runtime: Runtime) -> Tasks:
    running = RunningExports()

    @_export_task(huey, "send_export_email")
    def send_export_email(export_id: int) -> None:
        outcome, delay = deliver_email(runtime, export_id)
        if outcome is EmailOutcome.RETRY:
            tasks.dispatch_email(export_id, delay)

    @_export_task(huey, "process_export")
    def process_export(export_id: int) -> Outcome:
        outcome = run_export(runtime, running, export_id)
        if outcome in (Outcome.SUCCEEDED, Outcome.FAILED):
            send_export_email.call_local(export_id)
        elif outcome in (Outcome.DECLINED, Outcome.HANDED_BACK):  # this worker stops: another one takes it
            tasks.dispatch_export(export_id)
        return outcome

    tasks = Tasks(huey, process_export, send_export_email, running)
    return tasks


def sweep_once(runtime: Runtime, tasks: Tasks) -> dict[str, int]:
    """Find work whose message was lost or whose worker died, and ring the doorbell again."""
    settings = runtime.settings
    with runtime.sessions() as session:
        failed = lifecycle.fail_exhausted(session, max_attempts=settings.max_attempts)
        due = lifecycle.due_for_dispatch(session, redispatch_after=timedelta(seconds=settings.redispatch_after_seconds))
        lifecycle.mark_dispatched(session, due)
        recovered = lifecycle.recover_stale_sending(session, resend_is_safe=runtime.mailer.resend_is_safe)
        emails = lifecycle.due_emails(session)
        keys = idempotency.purge_expired(session)
    for export_id in due:
        tasks.dispatch_export(export_id)
    for export_id in emails:
        tasks.dispatch_email(export_id)
    expired = retention.purge_expired(runtime)
    scheduled = firing.fire_due(runtime, tasks.dispatch_export)
    return {"failed": len(failed), "dispatched": len(due), "recovered": len(recovered), "emails": len(emails),
            "expired": expired, "keys": keys, "scheduled": scheduled}


class Sweeper(threading.Thread):
    def __init__(self, runtime: Runtime, tasks: Tasks) -> None:
        super().__init__(name="sweeper", daemon=True)
        self.runtime, self.tasks = runtime, tasks
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.runtime.settings.sweep_seconds):
            try:
                counts = sweep_once(self.runtime, self.tasks)
                if any(counts.values()):
                    logger.info("sweep: %s", counts)
            except Exception:
                logger.exception("sweep failed; trying again next period")

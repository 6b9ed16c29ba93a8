"""Run one export under a claim: heartbeat, build, publish, record. Called by the worker's task."""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta
from enum import StrEnum

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from crowdexports.errors import CrowdexportsError, ExportStopped
from crowdexports.exports import lifecycle, pipeline
from crowdexports.logs import export_context
from crowdexports.models import Export, Project, User, utcnow
from crowdexports.runtime import Runtime

logger = logging.getLogger(__name__)


class Outcome(StrEnum):
    NOT_CLAIMED = "not-claimed"  # someone else has it, or it is no longer waiting: a duplicate message
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STOPPED = "stopped"  # canceled, or the lease was lost to another worker
    HANDED_BACK = "handed-back"  # this process is shutting down; the export waits for another worker
    DECLINED = "declined"  # not claimed because this process is shutting down; its message is queued again


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


class Heartbeat(threading.Thread):
    """Renews the lease and reports progress; a refused renewal (cancel, lost lease) stops the export."""

    def __init__(self, runtime: Runtime, claim: lifecycle.Claim, progress: pipeline.Progress) -> None:
        super().__init__(name=f"heartbeat-{claim.export_id}", daemon=True)
        self.runtime, self.claim, self.progress = runtime, claim, progress
        self.finished = threading.Event()

    def run(self) -> None:
        with export_context(self.claim.export_id):
            self._beat()

    def _beat(self) -> None:
        settings = self.runtime.settings
        while not self.finished.wait(settings.heartbeat_seconds):
            try:
                with self.runtime.sessions() as session:
                    kept = lifecycle.renew(session, self.claim, lease_seconds=settings.lease_seconds,
                                           rows_done=self.progress.rows_done,
                                           rows_estimated=self.progress.estimated_total)
            except Exception:  # a database hiccup: keep trying until the lease itself runs out
                logger.exception("heartbeat failed for export %s", self.claim.export_id)
                continue
            if not kept:
                self.progress.stop.set()
                return


_running: set[pipeline.Progress] = set()
_running_lock = threading.Lock()


_shutting_down = threading.Event()


def hand_back_running() -> None:
    """On shutdown: stop every export this process is making, each handed back to the queue, and
    decline any a consumer thread still takes before it stops (a handed-back export's own message
    included, which a thread would otherwise pick up again and run to the end)."""
    _shutting_down.set()
    with _running_lock:
        for progress in _running:
            progress.hand_back = True
            progress.stop.set()


def accept_exports() -> None:
    """Undo hand_back_running, for a worker started again in the same process (`serve` restarts, tests)."""
    _shutting_down.clear()


def _make_file(runtime: Runtime, session: Session, claim: lifecycle.Claim,
               progress: pipeline.Progress) -> tuple[str, int, pipeline.BuiltFile]:
    export = session.get_one(Export, claim.export_id)
    project = session.get_one(Project, export.project_id)
    recipient = session.get_one(User, export.user_id)
    built = pipeline.build_file(session, export, project, recipient, runtime.storage.temp_dir(), progress)
    session.rollback()  # end the read snapshot before the slow publish
    key, size = pipeline.publish(runtime.storage, claim.export_id, claim.attempt, built)
    return key, size, built


def run_export(runtime: Runtime, export_id: int) -> Outcome:
    with export_context(export_id):
        return _run_export(runtime, export_id)


def _run_export(runtime: Runtime, export_id: int) -> Outcome:
    settings = runtime.settings
    if _shutting_down.is_set():
        runtime.dispatch_export(export_id)
        return Outcome.DECLINED
    with runtime.sessions() as session:
        claim = lifecycle.claim(session, export_id, worker=worker_name(), lease_seconds=settings.lease_seconds,
                                max_attempts=settings.max_attempts)
        if claim is None:
            return Outcome.NOT_CLAIMED
        logger.info("export %s: attempt %s started", export_id, claim.attempt)
        pipeline.discard_leftovers(runtime.storage.temp_dir(), export_id)
        progress = pipeline.Progress()
        heartbeat = Heartbeat(runtime, claim, progress)
        with _running_lock:
            _running.add(progress)
        heartbeat.start()
        stopped, failure = False, None
        try:
            key, size, built = _make_file(runtime, session, claim, progress)
        except ExportStopped:
            stopped = True
        except (OperationalError, InterfaceError) as exc:
            # The database went away mid-export: nothing can be recorded now. The lease runs out
            # and the sweep gives the export a new attempt once the database is back.
            logger.warning("export %s: attempt %s lost the database: %s", export_id, claim.attempt, exc)
            stopped = True
        except Exception as exc:
            logger.exception("export %s: attempt %s failed", export_id, claim.attempt)
            session.rollback()
            failure = str(exc) if isinstance(exc, CrowdexportsError) else (
                f"Unexpected error while making the file ({type(exc).__name__}: {exc})")
        finally:
            heartbeat.finished.set()
            heartbeat.join()
            with _running_lock:
                _running.discard(progress)

        if stopped:
            if progress.hand_back and lifecycle.hand_back(session, claim):
                logger.info("export %s: attempt %s handed back on shutdown", export_id, claim.attempt)
                runtime.dispatch_export(export_id)
                return Outcome.HANDED_BACK
            logger.info("export %s: attempt %s stopped", export_id, claim.attempt)
            return Outcome.STOPPED
        if failure is not None:
            return Outcome.FAILED if lifecycle.fail(session, claim, failure) else Outcome.STOPPED
        done = lifecycle.succeed(
            session, claim, storage_key=key, file_name=built.file_name, size=size, row_count=built.row_count,
            expires_at=utcnow() + timedelta(days=settings.file_ttl_days),
        )
    if not done:  # canceled at the last moment, or another attempt took over: our file must go
        runtime.storage.delete(key)
        return Outcome.STOPPED
    for stale_key in runtime.storage.keys(f"exports/{export_id}/"):
        if stale_key != key:  # left by an attempt that died after publishing
            runtime.storage.delete(stale_key)
    logger.info("export %s: succeeded with %s rows", export_id, built.row_count)
    return Outcome.SUCCEEDED

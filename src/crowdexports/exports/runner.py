"""Run one export under a claim: heartbeat, build, publish, record. Called by the worker's task."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from crowdexports.errors import ExportStopped
from crowdexports.exports import failures, lifecycle, pipeline
from crowdexports.logs import export_context
from crowdexports.models import Export, Project, User, utcnow

if TYPE_CHECKING:  # runtime.py wires these modules together, so they may not import it
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


class RunningExports:
    """The exports one worker's threads are making, and whether that worker is shutting down. On
    shutdown every one is stopped and handed back to the queue, and any a thread still takes before
    it stops is declined (a handed-back export's own message included, which a thread would otherwise
    pick up again and run to the end). Owned by the bound tasks (worker/tasks.py), driven by the
    worker (worker/consumer.py)."""

    def __init__(self) -> None:
        self._making: set[pipeline.Progress] = set()
        self._lock = threading.Lock()
        self._shutting_down = threading.Event()

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down.is_set()

    def hand_back(self) -> None:
        """Shutting down: stop every export being made, each to be handed back; take no new one."""
        with self._lock:
            self._shutting_down.set()
            for progress in self._making:
                _hand_back(progress)

    def accept(self) -> None:
        """Take exports again: a worker started anew over the same tasks (`serve` restarts, tests)."""
        self._shutting_down.clear()

    @contextmanager
    def making(self, progress: pipeline.Progress) -> Iterator[None]:
        """Count the export of `progress` as being made, handed back at once if shutdown began since
        it was claimed."""
        with self._lock:
            self._making.add(progress)
            if self._shutting_down.is_set():
                _hand_back(progress)
        try:
            yield
        finally:
            with self._lock:
                self._making.discard(progress)


def _hand_back(progress: pipeline.Progress) -> None:
    progress.hand_back = True
    progress.stop.set()


def _make_file(runtime: Runtime, session: Session, claim: lifecycle.Claim,
               progress: pipeline.Progress) -> tuple[str, int, pipeline.BuiltFile]:
    export = session.get_one(Export, claim.export_id)
    project = session.get_one(Project, export.project_id)
    recipient = session.get_one(User, export.user_id)
    built = pipeline.build_file(session, export, project, recipient, runtime.storage.temp_dir(), progress)
    session.rollback()  # end the read snapshot before the slow publish
    key, size = pipeline.publish(runtime.storage, claim.export_id, claim.attempt, built)
    return key, size, built


def run_export(runtime: Runtime, running: RunningExports, export_id: int) -> Outcome:
    """Make export `export_id` if it can be claimed. DECLINED and HANDED_BACK leave it waiting: the
    caller queues its message again (worker/tasks.py)."""
    with export_context(export_id):
        return _run_export(runtime, running, export_id)


def _run_export(runtime: Runtime, running: RunningExports, export_id: int) -> Outcome:
    settings = runtime.settings
    if running.shutting_down:
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
        heartbeat.start()
        stopped, failure = False, None
        try:
            with running.making(progress):
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
            failure = failures.failure_of(exc)
        finally:
            heartbeat.finished.set()
            heartbeat.join()

        if stopped:
            if progress.hand_back and lifecycle.hand_back(session, claim):
                logger.info("export %s: attempt %s handed back on shutdown", export_id, claim.attempt)
                return Outcome.HANDED_BACK
            logger.info("export %s: attempt %s stopped", export_id, claim.attempt)
            return Outcome.STOPPED
        if failure is not None:
            return Outcome.FAILED if lifecycle.fail(session, claim, failure) else Outcome.STOPPED
        done = lifecycle.succeed(
            session, claim, storage_key=key, file_name=built.file_name, size=size, row_count=built.row_count,
            sha256=built.sha256, summary=built.summary,
            expires_at=utcnow() + timedelta(days=settings.file_ttl_days), changes_upto=built.changes_upto,
        )
    if not done:  # canceled at the last moment, or another attempt took over: our file must go
        runtime.storage.delete(key)
        return Outcome.STOPPED
    for stale_key in runtime.storage.keys(f"exports/{export_id}/"):
        if stale_key != key:  # left by an attempt that died after publishing
            runtime.storage.delete(stale_key)
    logger.info("export %s: succeeded with %s rows", export_id, built.row_count)
    return Outcome.SUCCEEDED

"""A due schedule's slot made into one export (issue 17). Every worker's sweep calls `fire_due`.

One export per slot, whatever the number of workers and restarts: the run row (`export_schedule_runs`,
unique on schedule and slot) is inserted in the export's own transaction (`asking.request_export`'s
`with_export`), with `next_run_at` moved on; a worker that loses the race gets the unique constraint's
IntegrityError, its export rolled back with it, and makes nothing. The slot is the stored `next_run_at`,
which every worker reads alike, never a time computed from a worker's clock. Slots missed while nothing
ran make one run (`timing.catch_up`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crowdexports.errors import InvalidInput, RateLimited
from crowdexports.exports import asking, lifecycle
from crowdexports.exports.statuses import ExportStatus
from crowdexports.models import Export, ExportSchedule, ExportScheduleRun, Project, User, utcnow
from crowdexports.rules import exports
from crowdexports.schedules import notices, timing
from crowdexports.schedules.store import rule_of

if TYPE_CHECKING:  # runtime.py wires the modules together, so they may not import it
    from crowdexports.runtime import Runtime

logger = logging.getLogger(__name__)


def fire_due(runtime: Runtime, dispatch_export: Callable[[int], None], now: datetime | None = None) -> int:
    """The due schedules fired, each in its own transaction, as many as leave at most
    `max_scheduled_exports_active` scheduled exports waiting or processing (the others stay due, the
    longest waiting first next sweep); how many exports were made. A schedule whose project is at its cap
    of active exports stays due (the next sweep tries again); one that fails otherwise is logged and
    skipped, so it cannot hold back the others. A refused slot's owner is emailed (schedules.notices)."""
    now = now or utcnow()
    with runtime.sessions() as session:
        room = runtime.settings.max_scheduled_exports_active - scheduled_active(session)
        due = due_schedules(session, now, limit=room) if room > 0 else []
    made = 0
    for schedule_id in due:
        with runtime.sessions() as session:
            try:
                run = fire(session, schedule_id, now, runtime, dispatch_export)
            except RateLimited:
                continue
            except Exception:
                logger.exception("export schedule %s could not be fired; trying again next sweep", schedule_id)
                continue
            if run is not None and run.error is not None:
                notices.tell_owner_refused(runtime, run.id)
            made += run is not None and run.export_id is not None
    return made


def scheduled_active(session: Session) -> int:
    """Exports made by schedules, all projects, still waiting or processing: what an export asked by hand
    now would queue behind (the queue is one, first come first served). Read from the few active exports
    (their status index) through their project's schedules to those schedules' runs (the unique index's
    schedule_id), not over every run ever made: it runs at every sweep of every worker."""
    made_by_a_schedule = (select(ExportScheduleRun.id)
                          .join(ExportSchedule, ExportSchedule.id == ExportScheduleRun.schedule_id)
                          .where(ExportSchedule.project_id == Export.project_id,
                                 ExportScheduleRun.export_id == Export.id).exists())
    return session.scalar(select(func.count()).select_from(Export)
                          .where(Export.status.in_(lifecycle.ACTIVE), made_by_a_schedule)) or 0


def due_schedules(session: Session, now: datetime, limit: int = 100) -> list[int]:
    """Schedules whose slot has come, the longest waiting first."""
    return list(session.scalars(select(ExportSchedule.id)
                                .where(ExportSchedule.paused.is_(False), ExportSchedule.next_run_at <= now)
                                .order_by(ExportSchedule.next_run_at).limit(limit)))


def fire(session: Session, schedule_id: int, now: datetime, runtime: Runtime,
         dispatch_export: Callable[[int], None]) -> ExportScheduleRun | None:
    """The schedule's due slot run once: its run row, with the export it made or why none was (its settings
    refused now: the slot is spent, recorded, and the schedule moves on). None: not due, or another worker
    ran the slot."""
    schedule = session.get(ExportSchedule, schedule_id)
    if schedule is None or schedule.paused or schedule.next_run_at is None:
        return None
    project = session.get_one(Project, schedule.project_id)
    caught = timing.catch_up(rule_of(schedule), project.timezone, schedule.next_run_at, now)
    if caught is None:
        return None
    slot, following = caught
    run = ExportScheduleRun(schedule_id=schedule.id, slot=slot)

    def claim(export: Export | None) -> None:
        run.export_id = None if export is None else export.id
        session.add(run)
        session.flush()  # the unique (schedule, slot): IntegrityError for the worker that lost
        session.execute(update(ExportSchedule).where(ExportSchedule.id == schedule_id)
                        .values(next_run_at=following))

    owner = session.get_one(User, schedule.owner_id)
    payload = _payload(session, schedule)
    try:
        asking.request_export(session, project, owner, payload, runtime, dispatch_export, with_export=claim)
    except IntegrityError:
        session.rollback()
        return None
    except InvalidInput as exc:
        session.rollback()
        run = ExportScheduleRun(schedule_id=schedule_id, slot=slot, error=str(exc))
        try:
            claim(None)
            session.commit()
        except IntegrityError:
            session.rollback()
            return None
    return run


def _payload(session: Session, schedule: ExportSchedule) -> dict[str, object]:
    """The export request of a run: the settings, and with `changes_only` the schedule's latest export that
    succeeded as the base (none yet: every order). An earlier run still being made is not the base: its
    changes come again, none is lost."""
    if not schedule.changes_only:
        return dict(schedule.settings)
    base = session.scalar(select(ExportScheduleRun.export_id)
                          .join(Export, Export.id == ExportScheduleRun.export_id)
                          .where(ExportScheduleRun.schedule_id == schedule.id,
                                 Export.status == ExportStatus.SUCCEEDED, Export.changes_upto.is_not(None))
                          .order_by(ExportScheduleRun.slot.desc()).limit(1))
    return {**schedule.settings, exports.CHANGES_SINCE.name: base} if base is not None else dict(schedule.settings)


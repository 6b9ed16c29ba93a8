"""A schedule's runs as its owner reads them (API, CLI, page): each slot run, the export it made and that
export's status now, or why no export was made (its settings refused at the slot: a deleted preset, a
column gone). A slot a project at its cap of active exports could not run yet has no run: it stays due
and shows as the schedule's `next_run` in the past (schedules.firing)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crowdexports.models import Export, ExportScheduleRun

MAX_LISTED = 100  # the newest runs shown; a daily schedule's three months


@dataclass(frozen=True)
class Run:
    """One slot run: `export_id` and `export_status` when it made an export (null once that export is
    deleted), `error` when its settings were refused."""

    id: int
    schedule_id: int
    slot: datetime
    export_id: int | None
    export_status: str | None
    error: str | None
    created_at: datetime


def latest_runs(session: Session, schedule_ids: Iterable[int], limit: int = MAX_LISTED) -> list[Run]:
    """The newest runs of these schedules (slot, newest first), at most `limit`."""
    rows = session.execute(
        select(ExportScheduleRun, Export.status).outerjoin(Export, Export.id == ExportScheduleRun.export_id)
        .where(ExportScheduleRun.schedule_id.in_(list(schedule_ids)))
        .order_by(ExportScheduleRun.slot.desc(), ExportScheduleRun.id.desc()).limit(limit))
    return [Run(run.id, run.schedule_id, run.slot, run.export_id, None if status is None else str(status),
                run.error, run.created_at) for run, status in rows]

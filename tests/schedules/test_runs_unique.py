"""The database, not the worker, makes a slot one run: a second run of the same schedule and slot is refused
by `uq_export_schedule_runs_schedule_slot` (on both stacks)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crowdexports.models import ExportSchedule, ExportScheduleRun
from tests.factories import make_project, make_user


def test_one_run_per_schedule_and_slot(session: Session) -> None:
    owner = make_user(session)
    project = make_project(session, owner)
    schedule = ExportSchedule(project_id=project.id, owner_id=owner.id, rule="daily", local_time="02:30",
                              settings={"type": "orders", "format": "csv"})
    session.add(schedule)
    session.commit()
    slot = datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    session.add(ExportScheduleRun(schedule_id=schedule.id, slot=slot))
    session.commit()
    session.add(ExportScheduleRun(schedule_id=schedule.id, slot=datetime(2027, 3, 29, 0, 30, tzinfo=UTC)))
    session.commit()  # another slot: its own run
    session.add(ExportScheduleRun(schedule_id=schedule.id, slot=slot))
    with pytest.raises(IntegrityError):
        session.commit()

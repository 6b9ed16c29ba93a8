"""A due slot made into one export (schedules/firing.py): once, whatever the number of workers racing for
it and however often it is fired again; slots missed while down run once; settings refused now spend the
slot with the reason recorded; `changes_only` takes the previous run's export as its base."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crowdexports.config import Settings
from crowdexports.exports.statuses import ExportStatus
from crowdexports.models import Export, ExportSchedule, ExportScheduleRun, utcnow
from crowdexports.runtime import Runtime
from crowdexports.schedules.firing import due_schedules, fire, fire_due
from crowdexports.worker.queue import make_huey
from crowdexports.worker.tasks import bind_tasks, sweep_once
from tests.factories import make_project, make_user

SETTINGS = {"type": "orders", "format": "csv"}
WORKERS = 6


def schedule_of(session: Session, due: datetime, **fields: object) -> ExportSchedule:
    owner = make_user(session)
    project = make_project(session, owner)
    schedule = ExportSchedule(project_id=project.id, owner_id=owner.id, rule="daily", local_time="02:30",
                              settings=SETTINGS, next_run_at=due, **fields)
    session.add(schedule)
    session.commit()
    return schedule


def exports_of(session: Session, schedule: ExportSchedule) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Export).where(Export.project_id == schedule.project_id)) or 0


def test_a_due_slot_makes_one_export_and_moves_the_next_run(session: Session, runtime: Runtime) -> None:
    due = datetime(2027, 3, 27, 1, 30, tzinfo=UTC)  # 02:30 CET
    schedule = schedule_of(session, due)
    assert fire(session, schedule.id, due - timedelta(seconds=1), runtime, lambda _: None) is None
    dispatched: list[int] = []
    run = fire(session, schedule.id, due, runtime, dispatched.append)
    assert run is not None and run.slot == due and run.export_id == dispatched[0] and run.error is None
    session.expire_all()
    assert session.get_one(ExportSchedule, schedule.id).next_run_at == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    assert fire(session, schedule.id, due + timedelta(minutes=1), runtime, dispatched.append) is None
    assert exports_of(session, schedule) == 1 and len(dispatched) == 1


def test_slots_missed_while_down_run_once(session: Session, runtime: Runtime) -> None:
    due = datetime(2027, 1, 1, 1, 30, tzinfo=UTC)
    schedule = schedule_of(session, due)
    back = datetime(2027, 1, 10, 9, tzinfo=UTC)  # nine slots missed
    assert due_schedules(session, back) == [schedule.id]
    assert fire(session, schedule.id, back, runtime, lambda _: None) is not None
    assert fire(session, schedule.id, back, runtime, lambda _: None) is None
    session.expire_all()
    assert session.get_one(ExportSchedule, schedule.id).next_run_at == datetime(2027, 1, 11, 1, 30, tzinfo=UTC)
    assert exports_of(session, schedule) == 1 and due_schedules(session, back) == []


def test_paused_schedules_are_not_due(session: Session, runtime: Runtime) -> None:
    schedule = schedule_of(session, datetime(2027, 1, 1, tzinfo=UTC), paused=True)
    now = datetime(2027, 2, 1, tzinfo=UTC)
    assert due_schedules(session, now) == [] and fire(session, schedule.id, now, runtime, lambda _: None) is None


def test_workers_racing_for_a_slot_make_one_export(session: Session, session_factory: sessionmaker[Session],
                                                   runtime: Runtime) -> None:
    due = datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # the autumn change's first 02:30
    schedule = schedule_of(session, due)
    start = threading.Barrier(WORKERS)
    runs: list[ExportScheduleRun | None] = []

    def worker() -> None:
        with session_factory() as own:
            start.wait()
            runs.append(fire(own, schedule.id, due + timedelta(seconds=5), runtime, lambda _: None))

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(runs) == WORKERS and sum(run is not None for run in runs) == 1
    assert exports_of(session, schedule) == 1
    assert session.scalar(select(func.count()).select_from(ExportScheduleRun)) == 1
    assert session.get_one(ExportSchedule, schedule.id).next_run_at == datetime(2027, 11, 1, 1, 30, tzinfo=UTC)


def test_settings_refused_now_spend_the_slot_with_the_reason(session: Session, runtime: Runtime) -> None:
    due = datetime(2027, 1, 1, 1, 30, tzinfo=UTC)
    schedule = schedule_of(session, due)
    schedule.settings = {**SETTINGS, "columns": {"order.gone": "Gone"}}  # as after a column's removal
    session.commit()
    run = fire(session, schedule.id, due, runtime, lambda _: None)
    assert run is not None and run.export_id is None and run.error is not None and "order.gone" in run.error
    assert exports_of(session, schedule) == 0
    assert session.get_one(ExportSchedule, schedule.id).next_run_at == datetime(2027, 1, 2, 1, 30, tzinfo=UTC)


def test_changes_only_takes_the_previous_runs_export_as_its_base(session: Session, runtime: Runtime) -> None:
    due = datetime(2027, 1, 1, 1, 30, tzinfo=UTC)
    schedule = schedule_of(session, due, changes_only=True)
    first = fire(session, schedule.id, due, runtime, lambda _: None)
    assert first is not None and first.export_id is not None
    made = session.get_one(Export, first.export_id)
    assert "changes_since" not in (made.options or {})["type"]
    made.status, made.changes_upto = ExportStatus.SUCCEEDED, 0  # as the worker leaves it
    session.commit()
    second = fire(session, schedule.id, due + timedelta(days=1), runtime, lambda _: None)
    assert second is not None and second.export_id is not None
    options = session.get_one(Export, second.export_id).options or {}
    assert options["type"]["changes_since"]["export_id"] == first.export_id



def test_every_workers_sweep_fires_the_due_schedules(settings: Settings, session: Session, runtime: Runtime) -> None:
    """Wired in `sweep_once`: a slot long past is made (and dispatched) once, however many sweeps run."""
    schedule = schedule_of(session, utcnow() - timedelta(days=30))
    tasks = bind_tasks(make_huey(settings.resolved_broker_url, name=settings.queue_name), runtime)
    assert [sweep_once(runtime, tasks)["scheduled"] for _ in range(3)] == [1, 0, 0]
    assert exports_of(session, schedule) == 1


def test_a_project_at_its_cap_keeps_the_slot_due(session: Session, runtime: Runtime) -> None:
    due = datetime(2027, 1, 1, 1, 30, tzinfo=UTC)
    schedule = schedule_of(session, due)
    capped = replace(runtime, settings=runtime.settings.model_copy(update={"max_active_exports_per_project": 0}))
    assert fire_due(capped, lambda _: None, due) == 0
    assert due_schedules(session, due) == [schedule.id]
    assert fire_due(runtime, lambda _: None, due) == 1

"""Export schedules on a fleet (issue 17, point 2): three worker processes sweeping every 0.1 s race for the
same due slots and make one export per slot; killed with SIGKILL and started again after more slots have
passed, they make one export per schedule for all the slots missed, not one per missed slot
(docs/decisions.md). On the selected stack: run it on both (CROWDEXPORTS_TEST_STACK=scaleout)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from crowdexports.config import Settings
from crowdexports.models import Export, ExportSchedule, ExportScheduleRun, utcnow
from crowdexports.runtime import Service
from crowdexports.seed import seed_orders
from tests.e2e.conftest import Owner, settings_env, start_cli, wait_for

pytestmark = pytest.mark.slow
SCHEDULES = 8
WORKERS = 3
MISSED_DAYS = 3


def _workers(settings: Settings, tmp_path: Path, round_: int) -> list[subprocess.Popen[bytes]]:
    """Three workers, started together; back once each has logged that its consumer runs."""
    env = settings_env(settings, CROWDEXPORTS_SWEEP_SECONDS="0.1", CROWDEXPORTS_LOG_LEVEL="INFO",
                       CROWDEXPORTS_MAX_ACTIVE_EXPORTS_PER_PROJECT=str(2 * SCHEDULES))
    logs = [tmp_path / f"worker{round_}-{n}.log" for n in range(WORKERS)]
    processes = [start_cli(["worker", "--concurrency", "2"], env, log) for log in logs]
    wait_for(lambda: all("consumer started" in log.read_text() for log in logs), timeout=60, interval=0.2)
    return processes


def _kill(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        os.killpg(process.pid, signal.SIGKILL)
    for process in processes:
        process.wait(timeout=30)


def _runs(service: Service) -> list[ExportScheduleRun]:
    with service.runtime.sessions() as session:
        return list(session.scalars(select(ExportScheduleRun).order_by(ExportScheduleRun.schedule_id,
                                                                       ExportScheduleRun.slot)))


def _exports(service: Service, project_id: int) -> Counter[str]:
    with service.runtime.sessions() as session:
        return Counter(session.scalars(select(Export.status).where(Export.project_id == project_id)))


def test_three_workers_make_one_export_per_slot_and_one_for_all_the_slots_missed_while_killed(
        settings: Settings, service: Service, owner: Owner, tmp_path: Path) -> None:
    with service.runtime.sessions() as session:
        seed_orders(session, owner.project.id, 10, seed=17)
    processes = _workers(settings, tmp_path, 1)
    try:
        due = utcnow().replace(microsecond=0)
        with service.runtime.sessions() as session:  # due now, while all three sweep
            session.add_all(ExportSchedule(project_id=owner.project.id, owner_id=owner.user.id, rule="daily",
                                           local_time="02:30", settings={"type": "orders", "format": "csv"},
                                           next_run_at=due) for _ in range(SCHEDULES))
            session.commit()
        wait_for(lambda: _exports(service, owner.project.id) == {"succeeded": SCHEDULES}, timeout=90, interval=0.2)
        time.sleep(1.0)  # ten more sweeps of each worker: a second export of a slot would be made by now
    finally:
        _kill(processes)
    runs = _runs(service)
    assert [(run.slot, run.error) for run in runs] == [(due, None)] * SCHEDULES
    assert len({run.export_id for run in runs}) == SCHEDULES

    # Down for MISSED_DAYS days: each schedule's next slot, and the ones after it, passed meanwhile.
    with service.runtime.sessions() as session:
        missed = utcnow().replace(microsecond=0) - timedelta(days=MISSED_DAYS)
        session.execute(update(ExportSchedule).values(next_run_at=missed))
        session.commit()
    processes = _workers(settings, tmp_path, 2)
    try:
        wait_for(lambda: _exports(service, owner.project.id) == {"succeeded": 2 * SCHEDULES}, timeout=90,
                 interval=0.2)
        time.sleep(1.0)
    finally:
        _kill(processes)
    runs = _runs(service)
    assert Counter(run.schedule_id for run in runs) == dict.fromkeys({run.schedule_id for run in runs}, 2)
    assert sorted({run.slot for run in runs}) == [missed, due]
    with service.runtime.sessions() as session:
        next_runs = list(session.scalars(select(ExportSchedule.next_run_at)))
        exports = session.scalar(select(func.count()).select_from(Export)) or 0
    assert exports == 2 * SCHEDULES and all(next_run is not None and next_run > utcnow() for next_run in next_runs)

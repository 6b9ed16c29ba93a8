"""/metrics counts the schedules (active, paused), the slots run into an export and the slots refused."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from crowdexports.monitoring import metrics_text
from crowdexports.runtime import Runtime
from crowdexports.schedules.firing import fire
from tests.schedules.test_firing import schedule_of


def samples(runtime: Runtime) -> dict[str, float]:
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in metrics_text(runtime).decode().splitlines() if line and not line.startswith("#")}


def test_schedules_runs_and_refused_slots_are_counted(session: Session, runtime: Runtime) -> None:
    due = datetime(2027, 1, 1, 1, 30, tzinfo=UTC)
    ran, refused = schedule_of(session, due), schedule_of(session, due)
    refused.settings = {"preset": 999_999}  # a preset deleted since
    session.commit()
    schedule_of(session, due, paused=True)
    for schedule in (ran, refused):
        assert fire(session, schedule.id, due, runtime, lambda _: None) is not None
    counted = samples(runtime)
    assert counted['crowdexports_export_schedules{state="active"}'] == 2
    assert counted['crowdexports_export_schedules{state="paused"}'] == 1
    assert counted["crowdexports_schedule_runs_total"] == 1
    assert counted["crowdexports_schedule_slots_refused_total"] == 1

"""The schedules' metrics (issue 17), read from the database at scrape time as monitoring.py's others are:
schedules active and paused, slots run into an export, slots refused (their settings, at the slot). Runs
go with a deleted schedule, so the two counts are of the schedules that exist."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crowdexports.models import ExportSchedule, ExportScheduleRun


def collect(session: Session) -> Iterator[Metric]:
    by_paused = dict(session.execute(select(ExportSchedule.paused, func.count()).group_by(ExportSchedule.paused)).all())
    made, refused = session.execute(select(func.count().filter(ExportScheduleRun.error.is_(None)),
                                           func.count().filter(ExportScheduleRun.error.is_not(None)))).one()
    schedules = GaugeMetricFamily("crowdexports_export_schedules", "Export schedules by state.", labels=["state"])
    schedules.add_metric(["active"], by_paused.get(False, 0))
    schedules.add_metric(["paused"], by_paused.get(True, 0))
    yield schedules
    yield CounterMetricFamily("crowdexports_schedule_runs", "Schedule slots run into an export.", value=made)
    yield CounterMetricFamily("crowdexports_schedule_slots_refused",
                              "Schedule slots that made no export: their settings were refused then.", value=refused)

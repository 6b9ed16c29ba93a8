"""A schedule and its runs as the API's JSON and the CLI's `--json` show them (one shape for both)."""

from __future__ import annotations

from typing import Any

from crowdexports.exports.timestamps import rfc3339
from crowdexports.models import ExportSchedule
from crowdexports.schedules import runs, timing


def schedule_resource(schedule: ExportSchedule, timezone: str) -> dict[str, Any]:
    return {"id": schedule.id, "project_id": schedule.project_id, "owner_id": schedule.owner_id,
            "rule": schedule.rule, "at": schedule.local_time,
            "weekday": None if schedule.weekday is None else timing.WEEKDAYS[schedule.weekday],
            "day": schedule.day, "cron": schedule.cron, "settings": schedule.settings,
            "changes_only": schedule.changes_only, "paused": schedule.paused,
            "next_run": None if schedule.next_run_at is None else rfc3339(schedule.next_run_at),
            "timezone": timezone, "created_at": rfc3339(schedule.created_at),
            "updated_at": rfc3339(schedule.updated_at)}


def run_resource(run: runs.Run) -> dict[str, Any]:
    return {"id": run.id, "schedule_id": run.schedule_id, "slot": rfc3339(run.slot), "export_id": run.export_id,
            "export_status": run.export_status, "error": run.error, "created_at": rfc3339(run.created_at)}

"""The "Schedules" section of a project's page (issue 17): what it lists (each schedule with its latest
runs) and the API body its form makes. The routes are web/pages/schedules.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from crowdexports.models import ExportSchedule
from crowdexports.rules import schedules as rules
from crowdexports.schedules import runs, store
from crowdexports.web.export_form import EXPORT_TYPE

RUNS_SHOWN = 3  # per schedule on the page; all of them: GET /v1/export-schedules/{id}/runs
NOTICES = ("schedule-added", "schedule-paused", "schedule-resumed", "schedule-deleted")


@dataclass(frozen=True)
class Shown:
    """A schedule as its row on the page shows it: with its latest runs, newest first."""

    schedule: ExportSchedule
    runs: list[runs.Run]


def shown_schedules(session: Session, project_id: int) -> list[Shown]:
    return [Shown(schedule, runs.latest_runs(session, [schedule.id], RUNS_SHOWN))
            for schedule in store.list_schedules(session, project_id)]


def body_of(form: FormData) -> dict[str, Any]:
    """The API's body from the form: the chosen rule's own fields only (rules.schedules.NEEDS; the form shows
    every rule's), and settings naming a preset, or else of a format."""
    rule = str(form.get("rule", ""))
    body: dict[str, Any] = {"rule": rule, "changes_only": form.get("changes_only") == "yes"}
    for name in rules.NEEDS.get(rule, ()):
        value = str(form.get(name, "")).strip()
        body[name] = int(value) if name == rules.DAY.name and value.isdigit() else value or None
    preset = str(form.get("settings_preset", ""))
    body["settings"] = ({"preset": int(preset)} if preset.isdigit()
                        else {"type": EXPORT_TYPE, "format": str(form.get("settings_format", ""))})
    return body

"""`crowdexports schedules ...`: a project's export schedules from the command line, by the rules and
functions the API uses (schedules.store: the body's check, the owner's cap; schedules.runs). The command
line acts as the project's owner, as `presets create` does."""

from __future__ import annotations

import json
from typing import Any

import typer
from sqlalchemy.orm import Session

from crowdexports.cli.output import DEFAULT_TYPE, command_group, domain_errors, emit
from crowdexports.config import Settings
from crowdexports.database.engine import make_engine, make_session_factory
from crowdexports.errors import NotFound, invalid
from crowdexports.ids import MAX_ID
from crowdexports.models import ExportSchedule, Project, User
from crowdexports.schedules import runs, store
from crowdexports.schedules.resources import run_resource, schedule_resource
from crowdexports.schedules.words import describe_rule

schedules = command_group("Export schedules (a project's recurring exports, emailed to its owner).")
JSON_OPTION = typer.Option(False, "--json", help="Print one JSON object.")
ID_OPTION = typer.Option(..., "--id", help="The schedule's id (schedules list).")


def _session() -> Session:
    return make_session_factory(make_engine(Settings().resolved_database_url))()


def _project(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id) if 0 < project_id <= MAX_ID else None
    if project is None:
        raise NotFound(f"project {project_id} does not exist")
    return project


def _schedule(session: Session, schedule_id: int) -> ExportSchedule:
    schedule = session.get(ExportSchedule, schedule_id) if 0 < schedule_id <= MAX_ID else None
    if schedule is None:
        raise NotFound(f"export schedule {schedule_id} does not exist")
    return schedule


def _emit(session: Session, schedule: ExportSchedule, as_json: bool, prefix: str = "") -> None:
    resource, line = _shown(session, schedule)
    emit(resource, as_json, prefix + line)


def _shown(session: Session, schedule: ExportSchedule) -> tuple[dict[str, Any], str]:
    """The schedule's resource, and its line: id, rule in words, zone, next run or paused."""
    timezone = session.get_one(Project, schedule.project_id).timezone
    resource = schedule_resource(schedule, timezone)
    when = "paused" if schedule.paused else f"next run {resource['next_run']}"
    line = (f"{schedule.id} {describe_rule(schedule, 'en')} ({timezone}), {when}: "
            f"{json.dumps(schedule.settings, ensure_ascii=False)}{', changes only' if schedule.changes_only else ''}")
    return resource, line


def _settings(settings: str | None, preset: int | None, format_: str | None, type_: str | None) -> dict[str, Any]:
    """`--settings` (a JSON object), with `--preset`, `--format` and `--type` set over it; the type is
    orders unless given or left to a preset."""
    value: Any = {}
    if settings is not None:
        try:
            value = json.loads(settings)
        except json.JSONDecodeError as exc:
            raise invalid("settings", f"not JSON: {exc}", "DeserializationError") from None
        if not isinstance(value, dict):
            raise invalid("settings", "must be a JSON object", "TypeError")
    given = {"preset": preset, "format": format_, "type": type_}
    merged = {**value, **{name: option for name, option in given.items() if option is not None}}
    if "preset" not in merged:
        merged.setdefault("type", DEFAULT_TYPE)
    return merged


@schedules.command("list")
def schedules_list(project: int = typer.Option(...), as_json: bool = JSON_OPTION) -> None:
    """A project's export schedules, in the order they were made."""
    with domain_errors(), _session() as session:
        _project(session, project)
        shown = [_shown(session, schedule) for schedule in store.list_schedules(session, project)]
        emit({"export_schedules": [resource for resource, _ in shown]}, as_json,
             "\n".join(line for _, line in shown) or f"project {project} has no export schedules")


@schedules.command("add")
def schedules_add(
    project: int = typer.Option(...),
    rule: str = typer.Option(..., help="daily, weekly, monthly or cron (read in the project's time zone)"),
    at: str | None = typer.Option(None, help="Local time, HH:MM (daily, weekly, monthly)"),
    weekday: str | None = typer.Option(None, help="weekly: monday ... sunday"),
    day: int | None = typer.Option(None, help="monthly: 1-31, the month's last day if it has fewer"),
    cron: str | None = typer.Option(None, help="cron: five fields, the minute one number: '0 6 * * 1'"),
    settings: str | None = typer.Option(None, help='The export request\'s fields as JSON: {"type": "orders", '
                                        '"format": "csv", ...}'),
    preset: int | None = typer.Option(None, help="An export preset of the project, resolved at each run."),
    format_: str | None = typer.Option(None, "--format", help="csv or xlsx"),
    type_: str | None = typer.Option(None, "--type", help="orders (the default, or the preset's)"),
    changes_only: bool = typer.Option(False, "--changes-only", help="Each run: the orders changed since the "
                                      "previous run's export."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Export a project on a schedule, checked as `POST /v1/projects/{id}/export-schedules` is."""
    with domain_errors(), _session() as session:
        owner_project = _project(session, project)
        body = {"rule": rule, "at": at, "weekday": weekday, "day": day, "cron": cron,
                "settings": _settings(settings, preset, format_, type_), "changes_only": changes_only}
        owner = session.get_one(User, owner_project.owner_id)
        schedule = store.create_schedule(session, owner_project, body, owner.lang)
        _emit(session, schedule, as_json, "export schedule made: ")


@schedules.command("show")
def schedules_show(schedule_id: int = ID_OPTION, as_json: bool = JSON_OPTION) -> None:
    """One export schedule, with its next run."""
    with domain_errors(), _session() as session:
        _emit(session, _schedule(session, schedule_id), as_json)


@schedules.command("pause")
def schedules_pause(schedule_id: int = ID_OPTION, as_json: bool = JSON_OPTION) -> None:
    """No more runs until resumed."""
    with domain_errors(), _session() as session:
        _emit(session, store.set_paused(session, _schedule(session, schedule_id), True), as_json)


@schedules.command("resume")
def schedules_resume(schedule_id: int = ID_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Runs again from the next slot after now; the slots passed while paused are not run."""
    with domain_errors(), _session() as session:
        _emit(session, store.set_paused(session, _schedule(session, schedule_id), False), as_json)


@schedules.command("remove")
def schedules_remove(schedule_id: int = ID_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Delete a schedule and its runs; the exports it made stay."""
    with domain_errors(), _session() as session:
        schedule = _schedule(session, schedule_id)
        resource, _ = _shown(session, schedule)
        store.delete_schedule(session, schedule)
        emit(resource, as_json, f"export schedule {schedule_id} removed")


@schedules.command("runs")
def schedules_runs(schedule_id: int = ID_OPTION, as_json: bool = JSON_OPTION) -> None:
    """The schedule's latest runs, newest slot first: the export each made and its status, or why none was."""
    with domain_errors(), _session() as session:
        listed = runs.latest_runs(session, [_schedule(session, schedule_id).id])
        lines = [f"{run.slot.isoformat()} {_outcome(run)}" for run in listed]
        emit({"runs": [run_resource(run) for run in listed]}, as_json,
             "\n".join(lines) or f"export schedule {schedule_id} has not run yet")


def _outcome(run: runs.Run) -> str:
    if run.error is not None:
        return f"refused: {run.error}"
    return "its export was deleted" if run.export_id is None else f"export {run.export_id} {run.export_status}"

"""Export schedules (issue 17): a project's recurring exports, created, replaced, paused, resumed and
deleted, their next run kept in `next_run_at` (schedules.timing).

Who sees schedules: the project's owner writes them, staff read them; to anyone else they do not exist, as
presets (exports.presets). Each owner has at most `MAX_PER_OWNER`, all projects together, counted in the
transaction of the insert as presets are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crowdexports.errors import Conflict, FieldProblem, InvalidInput, NotFound
from crowdexports.exports import access, presets
from crowdexports.ids import MAX_ID
from crowdexports.models import ExportSchedule, Project, User, UserRecord, utcnow
from crowdexports.rules import exports, schedules
from crowdexports.rules.reader import Reader
from crowdexports.schedules import timing

Caller = User | UserRecord


@dataclass(frozen=True)
class Checked:
    """A schedule body's values, as the columns store them."""

    rule: str
    local_time: str | None
    weekday: int | None
    day: int | None
    cron: str | None
    settings: dict[str, Any]
    changes_only: bool


def check_schedule_body(session: Session, project: Project, body: Mapping[str, object], lang: str) -> Checked:
    """A schedule's values from a decoded JSON body: the rule's own fields, no other rule's; settings that
    make a valid export request of the project now (a preset they name resolved), problems under
    `settings`; with `changes_only`, no `changes_since` of their own (each run sets it)."""
    reader = Reader()
    reader.closed(body, schedules.SCHEDULE)
    rule = reader.text(body, schedules.RULE)
    at, weekday, cron = reader.texts(body, (schedules.AT, schedules.WEEKDAY, schedules.CRON))
    day = reader.integer(body, schedules.DAY)
    changes_only = reader.flag(body, schedules.CHANGES_ONLY)
    if reader.ok(schedules.RULE.name):
        needs = schedules.NEEDS[rule]
        for name in ("at", "weekday", "day", "cron"):
            given = body.get(name) is not None
            if name in needs and not given:
                reader.problem([name], f"is required for a {rule} rule", "RequiredError")
            elif given and name not in needs and reader.ok(name):
                reader.problem([name], f"is not part of a {rule} rule", "UnknownFieldError")
    settings = body.get(schedules.SETTINGS.name)
    if settings is None:
        reader.required([schedules.SETTINGS.name])
    elif not isinstance(settings, dict):
        reader.problem([schedules.SETTINGS.name], "must be a JSON object of export request fields", "TypeError")
    else:
        reader.problems += _settings_problems(session, project, settings, changes_only, lang)
    reader.done()
    assert isinstance(settings, dict)
    checked = Checked(rule, at or None, WEEKDAYS_INDEX.get(weekday), day or None, cron or None, settings,
                      changes_only)
    try:
        timing.next_run(rule_of(checked), project.timezone, utcnow())
    except timing.NeverRuns:
        raise InvalidInput([FieldProblem([schedules.CRON.name], "names no time that will come")]) from None
    return checked


WEEKDAYS_INDEX = {name: index for index, name in enumerate(timing.WEEKDAYS)}


def _settings_problems(session: Session, project: Project, settings: Mapping[str, object], changes_only: bool,
                       lang: str) -> list[FieldProblem]:
    problems = []
    if changes_only and settings.get(exports.CHANGES_SINCE.name) is not None:
        problems.append(FieldProblem([schedules.SETTINGS.name, exports.CHANGES_SINCE.name],
                                     "must be absent with changes_only: each run sets it to the previous run's export"))
    try:
        presets.validate_with_preset(session, project, settings, lang)
    except InvalidInput as exc:
        problems += [FieldProblem([schedules.SETTINGS.name, *problem.field_names], problem.message,
                                  problem.classification) for problem in exc.problems]
    return problems


def rule_of(values: Checked | ExportSchedule) -> timing.Rule:
    """The timing rule of a schedule's columns."""
    at = time.fromisoformat(values.local_time) if values.local_time else time(0, 0)
    return timing.Rule(cast(timing.Kind, values.rule), at=at, weekday=values.weekday, day=values.day, cron=values.cron)


def schedules_project(session: Session, project_id: int, caller: Caller, *, write: bool) -> Project:
    """The project whose export schedules the caller may read or write (`access.settings_project`)."""
    return access.settings_project(session, project_id, caller, write=write, kept="export schedules")


def visible_schedule(session: Session, schedule_id: int, caller: Caller, *, write: bool) -> ExportSchedule:
    """A schedule, under the rules of `schedules_project`."""
    schedule = session.get(ExportSchedule, schedule_id) if 0 < schedule_id <= MAX_ID else None
    try:
        schedules_project(session, 0 if schedule is None else schedule.project_id, caller, write=write)
    except NotFound:
        raise NotFound(f"export schedule {schedule_id} does not exist") from None
    assert schedule is not None
    return schedule


def list_schedules(session: Session, project_id: int) -> list[ExportSchedule]:
    """In the order they were made."""
    return list(session.scalars(select(ExportSchedule).where(ExportSchedule.project_id == project_id)
                                .order_by(ExportSchedule.id)))


def create_schedule(session: Session, project: Project, body: Mapping[str, object], lang: str) -> ExportSchedule:
    """A new schedule of the project's owner, within their cap (counted after the insert, the owner's row
    locked first on PostgreSQL, SQLite's write lock: two at once cannot both pass)."""
    checked = check_schedule_body(session, project, body, lang)
    session.execute(select(User.id).where(User.id == project.owner_id).with_for_update())
    schedule = ExportSchedule(project_id=project.id, owner_id=project.owner_id, **vars(checked))
    schedule.next_run_at = timing.next_run(rule_of(checked), project.timezone, utcnow())
    session.add(schedule)
    session.flush()
    count = session.scalar(select(func.count()).select_from(ExportSchedule)
                           .where(ExportSchedule.owner_id == project.owner_id)) or 0
    if count > schedules.MAX_PER_OWNER:
        session.rollback()
        raise Conflict(f"you have {schedules.MAX_PER_OWNER} export schedules, as many as you may: delete one first")
    session.commit()
    return schedule


def update_schedule(session: Session, schedule: ExportSchedule, body: Mapping[str, object],
                    lang: str) -> ExportSchedule:
    """The whole schedule replaced; its next run counted again from now (unless paused)."""
    project = session.get_one(Project, schedule.project_id)
    checked = check_schedule_body(session, project, body, lang)
    for name, value in vars(checked).items():
        setattr(schedule, name, value)
    now = utcnow()
    schedule.updated_at = now
    if not schedule.paused:
        schedule.next_run_at = timing.next_run(rule_of(schedule), project.timezone, now)
    session.commit()
    return schedule


def set_paused(session: Session, schedule: ExportSchedule, paused: bool) -> ExportSchedule:
    """Pause (no next run), or resume: the next slot after now, the slots passed while paused not run."""
    if paused != schedule.paused:
        now = utcnow()
        project = session.get_one(Project, schedule.project_id)
        schedule.paused, schedule.updated_at = paused, now
        schedule.next_run_at = None if paused else timing.next_run(rule_of(schedule), project.timezone, now)
        session.commit()
    return schedule


def delete_schedule(session: Session, schedule: ExportSchedule) -> None:
    """Its runs go with it; the exports they made stay."""
    session.delete(schedule)
    session.commit()

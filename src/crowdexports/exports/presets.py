"""Export presets (issue 15): a project's named export settings, and export requests that name one.

A preset stores the settings part of an export request body as the request takes it, checked by the
request's own validator (`exports.requests.validate_export_payload`): a preset holds exactly what a
request can, and fields the request gains later work in presets with no change here. A request naming
a preset is the preset's settings overridden field by field by the request's own, checked as any request;
what the preset brought and no longer passes is reported under `preset`, naming it.

Who sees presets: the project's owner writes them, staff read them; to anyone else they do not exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crowdexports.errors import Conflict, FieldProblem, InvalidInput, NotFound
from crowdexports.exports import access
from crowdexports.exports.requests import Validated, validate_export_payload
from crowdexports.ids import MAX_ID
from crowdexports.models import ExportPreset, Project, User, UserRecord, utcnow
from crowdexports.rules import exports, presets
from crowdexports.rules.reader import Reader

Caller = User | UserRecord


def check_preset_body(body: Mapping[str, object], lang: str) -> tuple[str, dict[str, Any]]:
    """A preset's name and settings from a decoded JSON body. The settings are an export request's fields
    but `preset` (a preset does not name another), problems under `settings`."""
    reader = Reader()
    reader.closed(body, presets.PRESET)
    name = reader.text(body, presets.NAME)
    settings = body.get(presets.SETTINGS.name)
    if settings is None:
        reader.required([presets.SETTINGS.name])
    elif not isinstance(settings, dict):
        reader.problem([presets.SETTINGS.name], "must be a JSON object of export request fields", "TypeError")
    else:
        reader.problems += _settings_problems(settings, lang)
    reader.done()
    assert isinstance(settings, dict)
    return name, settings


def _settings_problems(settings: Mapping[str, object], lang: str) -> list[FieldProblem]:
    problems = []
    if exports.PRESET.name in settings:
        problems.append(FieldProblem([presets.SETTINGS.name, exports.PRESET.name],
                                     "a preset's settings cannot name a preset", "UnknownFieldError"))
    try:
        validate_export_payload({key: value for key, value in settings.items() if key != exports.PRESET.name}, lang)
    except InvalidInput as exc:
        problems += [FieldProblem([presets.SETTINGS.name, *problem.field_names], problem.message,
                                  problem.classification) for problem in exc.problems]
    return problems


def validate_with_preset(session: Session, project: Project, payload: Mapping[str, object],
                         lang: str) -> tuple[Validated, dict[str, object]]:
    """An export request checked, and the body it amounts to (`resolved`)."""
    preset, body = _resolved(session, project, payload)
    try:
        return validate_export_payload(body, lang), body
    except InvalidInput as exc:
        if preset is None:
            raise
        own = {key for key in payload if key != exports.PRESET.name}
        raise InvalidInput([_blamed(problem, preset, own) for problem in exc.problems]) from None


def resolved(session: Session, project: Project, payload: Mapping[str, object]) -> dict[str, object]:
    """The body an export request amounts to: the named preset's settings overridden by the request's own
    fields (a null one too: it asks for the default), or the request alone; unchecked."""
    return _resolved(session, project, payload)[1]


def _resolved(session: Session, project: Project,
              payload: Mapping[str, object]) -> tuple[ExportPreset | None, dict[str, object]]:
    own = {key: value for key, value in payload.items() if key != exports.PRESET.name}
    if payload.get(exports.PRESET.name) is None:
        return None, own
    reader = Reader()
    preset_id = reader.integer(payload, exports.PRESET)
    reader.done()
    preset = _in_project(session, project.id, preset_id)
    return preset, {**preset.settings, **own}


def _in_project(session: Session, project_id: int, preset_id: int) -> ExportPreset:
    """The project's preset: another project's is refused exactly as a missing one, whoever owns it."""
    preset = preset_in(session, project_id, preset_id)
    if preset is None:
        raise InvalidInput([FieldProblem([exports.PRESET.name],
                                         f"export preset {preset_id} does not exist in project {project_id}")])
    return preset


def _blamed(problem: FieldProblem, preset: ExportPreset, own: set[str]) -> FieldProblem:
    """A problem of a field the preset brought is the preset's: under `preset`, naming it (it was valid when
    saved; a column may have gone since)."""
    if not problem.field_names or problem.field_names[0] in own:
        return problem
    return FieldProblem([exports.PRESET.name, *problem.field_names],
                        f"preset {preset.id} ({preset.name}): {problem.message}", problem.classification)


def presets_project(session: Session, project_id: int, caller: Caller, *, write: bool) -> Project:
    """The project whose export presets the caller may read or write (`access.settings_project`)."""
    return access.settings_project(session, project_id, caller, write=write, kept="export presets")


def visible_preset(session: Session, preset_id: int, caller: Caller, *, write: bool) -> ExportPreset:
    """A preset, under the rules of `presets_project`."""
    preset = session.get(ExportPreset, preset_id) if 0 < preset_id <= MAX_ID else None
    try:
        presets_project(session, 0 if preset is None else preset.project_id, caller, write=write)
    except NotFound:
        raise NotFound(f"export preset {preset_id} does not exist") from None
    assert preset is not None
    return preset


def preset_in(session: Session, project_id: int, preset_id: int) -> ExportPreset | None:
    """The project's preset, or None (the page's look-ups: another project's is as a missing one)."""
    preset = session.get(ExportPreset, preset_id) if 0 < preset_id <= MAX_ID else None
    return preset if preset is not None and preset.project_id == project_id else None


def list_presets(session: Session, project_id: int) -> list[ExportPreset]:
    """By name: how a person looks for one."""
    return list(session.scalars(select(ExportPreset).where(ExportPreset.project_id == project_id)
                                .order_by(ExportPreset.name, ExportPreset.id)))


def create_preset(session: Session, project: Project, body: Mapping[str, object], lang: str) -> ExportPreset:
    """A new preset from a body (`check_preset_body`), within the project's cap, its name unused there.
    Counted after the insert, in its transaction, as `lifecycle.request` counts active exports: the
    project row locked first on PostgreSQL, SQLite's write lock, so two at once cannot both pass."""
    name, settings = check_preset_body(body, lang)
    session.execute(select(Project.id).where(Project.id == project.id).with_for_update())
    preset = ExportPreset(project_id=project.id, name=name, settings=settings)
    session.add(preset)
    _flush(session, project.id, name)
    count = session.scalar(select(func.count()).select_from(ExportPreset)
                           .where(ExportPreset.project_id == project.id)) or 0
    if count > presets.MAX_PER_PROJECT:
        session.rollback()
        raise Conflict(f"project {project.id} has {presets.MAX_PER_PROJECT} export presets, as many as it may: "
                       "delete one first")
    session.commit()
    return preset


def update_preset(session: Session, preset: ExportPreset, body: Mapping[str, object], lang: str) -> ExportPreset:
    """The whole preset replaced (name and settings)."""
    name, settings = check_preset_body(body, lang)
    preset.name, preset.settings, preset.updated_at = name, settings, utcnow()
    _flush(session, preset.project_id, name)
    session.commit()
    return preset


def delete_preset(session: Session, preset: ExportPreset) -> None:
    session.delete(preset)
    session.commit()


def _flush(session: Session, project_id: int, name: str) -> None:
    """Write; a name the project already uses (the unique constraint, also under a race) is a Conflict."""
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"project {project_id} already has an export preset named {name!r}") from None

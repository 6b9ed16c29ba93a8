"""Export schedule endpoints (issue 17): a project's recurring exports, their next run shown. Access checks
are dependencies (api/permissions.py); the work is schedules.store's."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from crowdexports.api.authentication import CallerDep
from crowdexports.api.bodies import JsonObject
from crowdexports.api.database import SessionDep
from crowdexports.api.openapi import answers
from crowdexports.api.permissions import (
    SchedulesProject,
    SchedulesProjectForWrite,
    VisibleSchedule,
    WritableSchedule,
)
from crowdexports.api.schemas import ScheduleBody, ScheduleList, ScheduleOut, ScheduleRunList
from crowdexports.models import ExportSchedule, Project
from crowdexports.schedules import runs, store
from crowdexports.schedules.resources import run_resource, schedule_resource

router = APIRouter(prefix="/v1", tags=["export schedules"])
BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": ScheduleBody.model_json_schema()}}}}


def _shown(session: Session, schedule: ExportSchedule) -> dict[str, Any]:
    return schedule_resource(schedule, session.get_one(Project, schedule.project_id).timezone)


@router.get("/projects/{project_id}/export-schedules", response_model=ScheduleList)
def list_schedules(project: SchedulesProject, session: SessionDep) -> dict[str, Any]:
    """The project's export schedules: for its owner and staff (to others, 404)."""
    return {"export_schedules": [schedule_resource(schedule, project.timezone)
                                 for schedule in store.list_schedules(session, project.id)]}


@router.post("/projects/{project_id}/export-schedules", status_code=201, response_model=ScheduleOut,
             openapi_extra=BODY)
@answers(400, 409)  # the body's values; the owner's cap of schedules reached
def create_schedule(project: SchedulesProjectForWrite, payload: JsonObject, caller: CallerDep,
                    session: SessionDep, response: Response) -> dict[str, Any]:
    """Export the project on a schedule: its owner, with a Bearer token."""
    schedule = store.create_schedule(session, project, payload, caller.user.lang)
    response.headers["Location"] = f"/v1/export-schedules/{schedule.id}"
    return schedule_resource(schedule, project.timezone)


@router.get("/export-schedules/{schedule_id}", response_model=ScheduleOut)
def show_schedule(schedule: VisibleSchedule, session: SessionDep) -> dict[str, Any]:
    """One export schedule, for its project's owner and staff; to anyone else it does not exist."""
    return _shown(session, schedule)


@router.put("/export-schedules/{schedule_id}", response_model=ScheduleOut, openapi_extra=BODY)
@answers(400)  # the body's values
def replace_schedule(schedule: WritableSchedule, payload: JsonObject, caller: CallerDep,
                     session: SessionDep) -> dict[str, Any]:
    """Replace a schedule's rule and settings: its project's owner, with a Bearer token."""
    return _shown(session, store.update_schedule(session, schedule, payload, caller.user.lang))


@router.post("/export-schedules/{schedule_id}/pause", response_model=ScheduleOut)
def pause_schedule(schedule: WritableSchedule, session: SessionDep) -> dict[str, Any]:
    """No more runs until resumed (pausing a paused schedule changes nothing)."""
    return _shown(session, store.set_paused(session, schedule, True))


@router.post("/export-schedules/{schedule_id}/resume", response_model=ScheduleOut)
def resume_schedule(schedule: WritableSchedule, session: SessionDep) -> dict[str, Any]:
    """Runs again from the next slot after now; the slots passed while paused are not run."""
    return _shown(session, store.set_paused(session, schedule, False))


@router.delete("/export-schedules/{schedule_id}", status_code=204, response_class=Response)
def delete_schedule(schedule: WritableSchedule, session: SessionDep) -> Response:
    """Delete a schedule; the exports it made stay."""
    store.delete_schedule(session, schedule)
    return Response(status_code=204)


@router.get("/export-schedules/{schedule_id}/runs", response_model=ScheduleRunList)
def list_schedule_runs(schedule: VisibleSchedule, session: SessionDep) -> dict[str, Any]:
    """The schedule's latest runs, newest slot first: the export each made and its status, or why none was."""
    return {"runs": [run_resource(run) for run in runs.latest_runs(session, [schedule.id])]}


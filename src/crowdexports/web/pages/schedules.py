"""The routes of the "Schedules" section of a project's page (web/schedule_form.py): add, pause, resume,
delete, each through the API's own functions (schedules.store: its body check, its cap, its pause rules).
The owner writes; anyone else gets the page of a missing id (staff read the section, without its forms)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from crowdexports.errors import Conflict, InvalidInput
from crowdexports.models import ExportSchedule, Project
from crowdexports.schedules import store
from crowdexports.web import access
from crowdexports.web.current import SignedInDep, check_form, runtime_of
from crowdexports.web.errors import PageNotFound
from crowdexports.web.pages.projects import _id, _lines, listing_of, render_project
from crowdexports.web.schedule_form import body_of
from crowdexports.web.sessions import SignedIn

router = APIRouter(include_in_schema=False)


def _back(project_id: int, notice: str) -> Response:
    return RedirectResponse(f"/web/projects/{project_id}?notice={notice}#schedules-title", status_code=303)


@router.post("/web/projects/{project_id}/schedules")
async def add_schedule(request: Request, project_id: str, signed: SignedInDep) -> Response:
    """Stored by `store.create_schedule`, as `POST /v1/projects/{id}/export-schedules`; refused: the page
    again, with why, in the section (400; 409 at the owner's cap)."""
    form = await request.form()
    check_form(request, signed, form)
    runtime = runtime_of(request)

    def add() -> tuple[Project, list[str], int]:
        with runtime.sessions() as session:
            project = access.requestable_project(session, project_id, signed.user)
            try:
                store.create_schedule(session, project, body_of(form), signed.user.lang)
            except (InvalidInput, Conflict) as refused:
                return project, _lines(refused), 409 if isinstance(refused, Conflict) else 400
            return project, [], 303

    project, problems, status = await run_in_threadpool(add)
    if not problems:
        return _back(project.id, "schedule-added")
    with runtime.sessions() as session:  # the refused insert's rollback expired it
        project = access.requestable_project(session, project_id, signed.user)
    listing = await listing_of(request, project, signed, None)
    return await render_project(request, project, signed, listing, schedule_problems=problems, status=status)


async def _change(request: Request, project_id: str, schedule_id: str, signed: SignedIn,
                  change: Callable[[Session, ExportSchedule], object], notice: str) -> Response:
    check_form(request, signed, await request.form())

    def change_it() -> Response:
        with runtime_of(request).sessions() as session:
            project = access.requestable_project(session, project_id, signed.user)
            schedule = session.get(ExportSchedule, _id(schedule_id))
            if schedule is None or schedule.project_id != project.id:
                raise PageNotFound()
            change(session, schedule)
        return _back(project.id, notice)

    return await run_in_threadpool(change_it)


@router.post("/web/projects/{project_id}/schedules/{schedule_id}/pause")
async def pause_schedule(request: Request, project_id: str, schedule_id: str, signed: SignedInDep) -> Response:
    return await _change(request, project_id, schedule_id, signed,
                         lambda session, schedule: store.set_paused(session, schedule, True), "schedule-paused")


@router.post("/web/projects/{project_id}/schedules/{schedule_id}/resume")
async def resume_schedule(request: Request, project_id: str, schedule_id: str, signed: SignedInDep) -> Response:
    return await _change(request, project_id, schedule_id, signed,
                         lambda session, schedule: store.set_paused(session, schedule, False), "schedule-resumed")


@router.post("/web/projects/{project_id}/schedules/{schedule_id}/delete")
async def delete_schedule(request: Request, project_id: str, schedule_id: str, signed: SignedInDep) -> Response:
    return await _change(request, project_id, schedule_id, signed, store.delete_schedule, "schedule-deleted")

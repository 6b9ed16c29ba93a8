"""The owner's actions on their project's exports: cancel one (after a confirmation, through
`exports.lifecycle.cancel`, the function of `POST /v1/exports/{id}/cancel`) and retry one (through
`exports.asking.retry_export`, that of `POST /v1/exports/{id}/retry`). Only the project's owner gets these
pages (staff have theirs, web/pages/staff.py); to anyone else they are the "not found" page. An export that
changed meanwhile (finished before the cancel, retried twice) is said on the project's page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from crowdexports.api.parameters import parse_id
from crowdexports.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from crowdexports.exports import access, asking, lifecycle
from crowdexports.exports.resource import resource_of
from crowdexports.models import Export, Project
from crowdexports.web.current import SignedInDep, check_form, csrf_token, runtime_of
from crowdexports.web.errors import PageNotFound
from crowdexports.web.pages.projects import listing_of, render_project
from crowdexports.web.rendering import page
from crowdexports.web.sessions import SignedIn

router = APIRouter(include_in_schema=False)
PATH = "/web/projects/{project_id}/exports/{export_id}"


def _owned(session: Session, project_id: str, export_id: str, signed: SignedIn) -> tuple[Project, Export]:
    """The export, if it is of this project and the visitor owns the project (`access.owned_export`)."""
    try:
        export = access.owned_export(session, parse_id(export_id), signed.user)
    except (NotFound, Forbidden):
        raise PageNotFound() from None
    if str(export.project_id) != project_id:
        raise PageNotFound()
    return session.get_one(Project, export.project_id), export


def _back(project: Project, notice: str, export_id: int) -> Response:
    return RedirectResponse(f"/web/projects/{project.id}?{notice}={export_id}", status_code=303)


@router.get(PATH + "/cancel")
def confirm_cancel(request: Request, project_id: str, export_id: str, signed: SignedInDep) -> Response:
    """The question before the cancel: one click on the list alone does not stop an export."""
    with runtime_of(request).sessions() as session:
        project, export = _owned(session, project_id, export_id, signed)
        shown = resource_of(session, export, signed.user, runtime_of(request).settings)
    return page("owner_cancel.html.j2", signed.lang, signed=signed, csrf_token=csrf_token(request, signed),
                path=request.url.path, project=project, export=shown)


@router.post(PATH + "/cancel")
async def cancel(request: Request, project_id: str, export_id: str, signed: SignedInDep) -> Response:
    check_form(request, signed, await request.form())

    def cancel_it() -> Response:
        with runtime_of(request).sessions() as session:
            project, export = _owned(session, project_id, export_id, signed)
            try:
                lifecycle.cancel(session, export, by_user_id=signed.user.id)
            except Conflict:
                return _back(project, "unchanged", export.id)
        return _back(project, "canceled", export.id)

    return await run_in_threadpool(cancel_it)


@router.post(PATH + "/retry")
async def retry(request: Request, project_id: str, export_id: str, signed: SignedInDep) -> Response:
    """A new export with the old one's settings, then the project's page saying so; the page with why, when
    the project has too many exports at once or a column of the old one is gone."""
    check_form(request, signed, await request.form())
    runtime = runtime_of(request)

    def retry_it() -> tuple[Project, Response | Exception]:
        with runtime.sessions() as session:
            project, export = _owned(session, project_id, export_id, signed)
            try:
                retried = asking.retry_export(session, export, signed.user, runtime, request.app.state.dispatch_export)
            except Conflict:
                return project, _back(project, "unchanged", export.id)
            except (InvalidInput, RateLimited) as refused:
                return project, refused
        return project, _back(project, "asked", retried.id)

    project, answer = await run_in_threadpool(retry_it)
    if isinstance(answer, Response):
        return answer
    listing = await listing_of(request, project, signed, None)
    if isinstance(answer, RateLimited):
        return await render_project(request, project, signed, listing, throttled=answer.retry_after, status=429)
    assert isinstance(answer, InvalidInput)
    problems = [f"{'.'.join(problem.field_names)}: {problem.message}" for problem in answer.problems]
    return await render_project(request, project, signed, listing, problems=problems, status=400)

"""The owner's pages: "My projects", and a project's export page (the form and the exports, whose list
is the API's own page of resources, `exports.listing.list_resource`, so statuses, progress and links are the
numbers the API gives). The list refreshes itself with htmx while an export is active; without
JavaScript, a reload does the same."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from crowdexports.api.database import hot_reads, in_database
from crowdexports.api.parameters import parse_since
from crowdexports.errors import IdempotencyKeyReused, InvalidInput, RateLimited
from crowdexports.exports.asking import request_export
from crowdexports.exports.lifecycle import ACTIVE
from crowdexports.exports.listing import MAX_LIMIT, list_resource
from crowdexports.exports.types import get_type
from crowdexports.models import Project
from crowdexports.web import access, export_form
from crowdexports.web.current import SignedInDep, check_form, csrf_token, runtime_of
from crowdexports.web.rendering import page
from crowdexports.web.sessions import SignedIn
from crowdexports.web.summaries import projects_of

router = APIRouter(include_in_schema=False)
CATALOGUE = get_type(export_form.EXPORT_TYPE).catalogue
NOTICES = ("asked", "canceled", "unchanged")  # what a form did to an export, said on the project's page


@router.get("/")
@router.get("/web")
async def home() -> Response:
    return RedirectResponse("/web/projects", status_code=303)


@router.get("/web/projects")
def my_projects(request: Request, signed: SignedInDep) -> Response:
    with runtime_of(request).sessions() as session:
        projects = projects_of(session, signed.user.id)
    return page("projects.html.j2", signed.lang, signed=signed, csrf_token=csrf_token(request, signed),
                path=request.url.path, projects=projects)


def _visible_project(project_id: str, request: Request, signed: SignedInDep) -> Project:
    with runtime_of(request).sessions() as session:
        return access.visible_project(session, project_id, signed.user)


VisibleProject = Annotated[Project, Depends(_visible_project)]


def _since(raw: str | None) -> Decimal | None:
    """A page's cursor; one that is not a cursor shows the newest page."""
    try:
        return parse_since(raw)
    except InvalidInput:
        return None


async def listing_of(request: Request, project: Project, signed: SignedIn, since: Decimal | None) -> dict[str, Any]:
    """The project's exports as `GET /v1/projects/{id}/exports` gives them (the same function)."""
    runtime = runtime_of(request)
    async with hot_reads(runtime) as connection:
        listed: dict[str, Any] = await in_database(runtime, list_resource, connection, project.id,
                                                   signed.user, MAX_LIMIT, since, runtime.settings)
    next_query = listed["meta"]["next"]
    return {"exports": listed["exports"], "older": next_query.rpartition("since=")[2] if next_query else None,
            "since": since, "live": any(export["status"] in ACTIVE for export in listed["exports"])}


def render_project(request: Request, project: Project, signed: SignedIn, listing: dict[str, Any], *,
                   form: export_form.ExportForm | None = None, problems: list[str] | None = None,
                   throttled: int = 0, status: int = 200, resent: bool = False, **notices: int | None) -> Response:
    """The project's page; `notices` (NOTICES: an export's id) and `resent` say what the last form did. The
    export form carries a fresh idempotency key each time it is shown."""
    said: dict[str, Any] = {name: notices.get(name) for name in NOTICES}
    return page("project.html.j2", signed.lang, status=status, signed=signed, csrf_token=csrf_token(request, signed),
                path=request.url.path, project=project, can_ask=access.may_request_export(project, signed.user),
                form=form or export_form.defaults(CATALOGUE, signed.lang), problems=problems or [],
                throttled=throttled, formats=export_form.FORMATS, dialects=export_form.DIALECTS,
                idempotency_key=export_form.fresh_key(), resent=resent,
                **said, **listing)


@router.get("/web/projects/{project_id}")
async def project_page(request: Request, project: VisibleProject, signed: SignedInDep, since: str | None = None,
                       asked: int | None = None, canceled: int | None = None,
                       unchanged: int | None = None) -> Response:
    return render_project(request, project, signed, await listing_of(request, project, signed, _since(since)),
                          asked=asked, canceled=canceled, unchanged=unchanged)


@router.get("/web/projects/{project_id}/exports")
async def exports_part(request: Request, project: VisibleProject, signed: SignedInDep,
                       since: str | None = None) -> Response:
    """The list alone: what htmx swaps in every second while an export is active."""
    listing = await listing_of(request, project, signed, _since(since))
    return page("exports.html.j2", signed.lang, project=project, csrf_token=csrf_token(request, signed),
                can_ask=access.may_request_export(project, signed.user), **listing)


@router.post("/web/projects/{project_id}/exports")
async def ask_for_export(request: Request, project_id: str, signed: SignedInDep) -> Response:
    """Through `request_export`, the path of `POST /v1/projects/{id}/exports`: its checks, its cap of
    active exports, its doorbell and its Idempotency-Key (the form's hidden one: a form sent twice makes one
    export). Then back to the project's page (or the form again, with why)."""
    form = await request.form()
    check_form(request, signed, form)
    runtime = runtime_of(request)
    posted = export_form.posted(CATALOGUE, signed.lang, form)

    def ask() -> tuple[Project, int]:
        with runtime.sessions() as session:
            project = access.requestable_project(session, project_id, signed.user)
            body = export_form.payload(posted, CATALOGUE, signed.user.lang)
            return project, request_export(session, project, signed.user, body, runtime,
                                           request.app.state.dispatch_export, export_form.key_of(form)).export.id

    try:
        project, export_id = await run_in_threadpool(ask)
    except (InvalidInput, RateLimited, IdempotencyKeyReused) as refused:
        with runtime.sessions() as session:
            project = access.requestable_project(session, project_id, signed.user)
        listing = await listing_of(request, project, signed, None)
        if isinstance(refused, IdempotencyKeyReused):  # this form was sent before, then changed (Back)
            return render_project(request, project, signed, listing, form=posted, resent=True, status=422)
        if isinstance(refused, RateLimited):
            return render_project(request, project, signed, listing, form=posted, throttled=refused.retry_after,
                                 status=429)
        problems = [f"{'.'.join(problem.field_names)}: {problem.message}" for problem in refused.problems]
        return render_project(request, project, signed, listing, form=posted, problems=problems, status=400)
    return RedirectResponse(f"/web/projects/{project.id}?asked={export_id}", status_code=303)

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
from crowdexports.api.parameters import parse_id, parse_since
from crowdexports.errors import Conflict, IdempotencyKeyReused, InvalidInput, NotFound, RateLimited
from crowdexports.exports import presets
from crowdexports.exports.asking import request_export
from crowdexports.exports.lifecycle import ACTIVE
from crowdexports.exports.listing import MAX_LIMIT, list_resource
from crowdexports.exports.status_words import STATUS_WORDS
from crowdexports.exports.types import get_type
from crowdexports.models import ExportPreset, Project
from crowdexports.schedules.words import weekday_choices
from crowdexports.web import access, export_form, schedule_form
from crowdexports.web.current import SignedInDep, check_form, csrf_token, runtime_of
from crowdexports.web.errors import PageNotFound
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


def _presets(request: Request, project: Project) -> tuple[list[ExportPreset], list[schedule_form.Shown]]:
    """The project's presets, and its schedules (the "Schedules" section: web/schedule_form.py)."""
    with runtime_of(request).sessions() as session:
        return presets.list_presets(session, project.id), schedule_form.shown_schedules(session, project.id)


async def render_project(request: Request, project: Project, signed: SignedIn, listing: dict[str, Any], *,
                         form: export_form.ExportForm | None = None, problems: list[str] | None = None,
                         preset_problems: list[str] | None = None, schedule_problems: list[str] | None = None,
                         throttled: int = 0, status: int = 200,
                         resent: bool = False, notice: str | None = None, **notices: int | None) -> Response:
    """The project's page; `notices` (NOTICES: an export's id), `notice` (PRESET_NOTICES, and the schedules'
    section's) and `resent` say what the last form did. The export form carries a fresh idempotency key
    each time it is shown."""
    listed, schedules = await run_in_threadpool(_presets, request, project)
    filled_from = next((preset for preset in listed if form is not None and preset.id == form.preset), None)
    said: dict[str, Any] = {name: notices.get(name) for name in NOTICES}
    return page("project.html.j2", signed.lang, status=status, signed=signed, csrf_token=csrf_token(request, signed),
                path=request.url.path, project=project, can_ask=access.may_request_export(project, signed.user),
                form=form or export_form.defaults(CATALOGUE, signed.lang, project.timezone), problems=problems or [],
                preset_problems=preset_problems or [], presets=listed, filled_from=filled_from,
                schedules=schedules, schedule_problems=schedule_problems or [], weekdays=weekday_choices(signed.lang),
                notice=notice if notice in (*PRESET_NOTICES, *schedule_form.NOTICES) else None, throttled=throttled,
                formats=export_form.FORMATS, dialects=export_form.DIALECTS, layouts=export_form.LAYOUTS,
                statuses=STATUS_WORDS[signed.lang],
                idempotency_key=export_form.fresh_key(), resent=resent, **said, **listing)


def _preset_form(request: Request, project: Project, signed: SignedIn,
                 raw_id: str | None) -> export_form.ExportForm | None:
    """The form filled from the project's preset `raw_id` (`?preset=`), for its owner; else None."""
    if raw_id is None or not access.may_request_export(project, signed.user):
        return None
    with runtime_of(request).sessions() as session:
        preset = presets.preset_in(session, project.id, _id(raw_id))
        if preset is None:
            return None
        return export_form.from_preset(preset.id, preset.settings, CATALOGUE, signed.lang, project.timezone)


@router.get("/web/projects/{project_id}")
async def project_page(request: Request, project: VisibleProject, signed: SignedInDep, since: str | None = None,
                       asked: int | None = None, canceled: int | None = None, unchanged: int | None = None,
                       preset: str | None = None, notice: str | None = None) -> Response:
    """The project's page; `?preset=ID` fills the form from a preset (a link: no JavaScript needed)."""
    form = await run_in_threadpool(_preset_form, request, project, signed, preset)
    return await render_project(request, project, signed, await listing_of(request, project, signed, _since(since)),
                                form=form, notice=notice, asked=asked, canceled=canceled, unchanged=unchanged)


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
            body = export_form.payload(posted, CATALOGUE, signed.user.lang, project.timezone)
            return project, request_export(session, project, signed.user, body, runtime,
                                           request.app.state.dispatch_export, export_form.key_of(form)).export.id

    try:
        project, export_id = await run_in_threadpool(ask)
    except (InvalidInput, RateLimited, IdempotencyKeyReused) as refused:
        with runtime.sessions() as session:
            project = access.requestable_project(session, project_id, signed.user)
        listing = await listing_of(request, project, signed, None)
        if isinstance(refused, IdempotencyKeyReused):  # this form was sent before, then changed (Back)
            return await render_project(request, project, signed, listing, form=posted, resent=True, status=422)
        if isinstance(refused, RateLimited):
            return await render_project(request, project, signed, listing, form=posted,
                                        throttled=refused.retry_after, status=429)
        return await render_project(request, project, signed, listing, form=posted, problems=_lines(refused),
                                    status=400)
    return RedirectResponse(f"/web/projects/{project.id}?asked={export_id}", status_code=303)


def _lines(refused: InvalidInput | Conflict) -> list[str]:
    if isinstance(refused, Conflict):
        return [str(refused)]
    return [f"{'.'.join(problem.field_names)}: {problem.message}" for problem in refused.problems]


PRESET_NOTICES = ("preset-saved", "preset-deleted")


@router.post("/web/projects/{project_id}/presets")
async def save_preset(request: Request, project_id: str, signed: SignedInDep) -> Response:
    """The export form's settings saved as a preset (the "Save" button of the same form): the body the form
    would ask for an export with (`export_form.payload`, with the preset it was filled from), checked and
    stored by the API's own `create_preset`."""
    form = await request.form()
    check_form(request, signed, form)
    runtime = runtime_of(request)
    posted = export_form.posted(CATALOGUE, signed.lang, form)

    def save() -> Project:
        with runtime.sessions() as session:
            project = access.requestable_project(session, project_id, signed.user)
            body = export_form.payload(posted, CATALOGUE, signed.user.lang, project.timezone)
            settings = presets.resolved(session, project, body)
            presets.create_preset(session, project, {"name": str(form.get("name", "")), "settings": settings},
                                  signed.user.lang)
            return project

    try:
        project = await run_in_threadpool(save)
    except (InvalidInput, Conflict) as refused:
        with runtime.sessions() as session:
            project = access.requestable_project(session, project_id, signed.user)
        listing = await listing_of(request, project, signed, None)
        return await render_project(request, project, signed, listing, form=posted, preset_problems=_lines(refused),
                                    status=409 if isinstance(refused, Conflict) else 400)
    return RedirectResponse(f"/web/projects/{project.id}?notice=preset-saved", status_code=303)


@router.post("/web/projects/{project_id}/presets/{preset_id}/delete")
async def delete_preset(request: Request, project_id: str, preset_id: str, signed: SignedInDep) -> Response:
    """Its owner only; another project's preset, or a missing one, is the page of a missing id."""
    check_form(request, signed, await request.form())

    def delete_it() -> Response:
        with runtime_of(request).sessions() as session:
            project = access.requestable_project(session, project_id, signed.user)
            preset = presets.preset_in(session, project.id, _id(preset_id))
            if preset is None:
                raise PageNotFound()
            presets.delete_preset(session, preset)
        return RedirectResponse(f"/web/projects/{project.id}?notice=preset-deleted", status_code=303)

    return await run_in_threadpool(delete_it)


def _id(raw: str) -> int:
    """A path's id; 0 (no row) when it is not one."""
    try:
        return parse_id(raw)
    except NotFound:
        return 0

"""The staff pages: every project's exports, filtered; an export with its event history; cancelling it
after a confirmation, through `exports.lifecycle.cancel`, the function of `POST /v1/exports/{id}/cancel`
(staff cancel any export, as there). To anyone but staff these pages are the "not found" page, the same
as for an address that does not exist: whether they exist is nobody else's business. A cancel that comes
too late is said on the export's page, never as an error page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from crowdexports.api.parameters import parse_id
from crowdexports.errors import Conflict, NotFound
from crowdexports.exports import access, lifecycle
from crowdexports.exports.resource import resource_of
from crowdexports.models import Export, Project
from crowdexports.web import staff_exports
from crowdexports.web.current import SignedInDep, check_form, csrf_token, runtime_of
from crowdexports.web.errors import PageNotFound
from crowdexports.web.rendering import page
from crowdexports.web.sessions import SignedIn

router = APIRouter(include_in_schema=False)
PREFIX = "/web/staff/exports"


def staff_only(signed: SignedInDep) -> SignedIn:
    if not signed.user.is_staff:
        raise PageNotFound()
    return signed


StaffDep = Annotated[SignedIn, Depends(staff_only)]


def _export(session: Session, raw_id: str, signed: SignedIn) -> Export:
    try:
        return access.visible_export(session, parse_id(raw_id), signed.user)
    except NotFound:
        raise PageNotFound() from None


@router.get(PREFIX)
def all_exports(request: Request, signed: StaffDep, status: str = "", project: str = "", owner: str = "",
                created_from: str = "", created_to: str = "", before: str = "") -> Response:
    filters = staff_exports.parse(status, project, owner, created_from, created_to)
    with runtime_of(request).sessions() as session:
        exports, older = staff_exports.exports_page(session, filters, staff_exports.cursor(before))
    return page("staff_exports.html.j2", signed.lang, signed=signed, csrf_token=csrf_token(request, signed),
                path=request.url.path, filters=filters, statuses=staff_exports.STATUSES, exports=exports,
                older=filters.query(before=str(older)) if older else None, paged=bool(before))


def _detail(request: Request, signed: SignedIn, session: Session, export: Export) -> dict[str, Any]:
    """What the export's page and its confirmation show: the API's resource (status, rows, size, email,
    error, link while valid), the project, its owner and the event history."""
    project = session.get_one(Project, export.project_id)
    return {"signed": signed, "csrf_token": csrf_token(request, signed), "path": request.url.path,
            "export": resource_of(session, export, signed.user, runtime_of(request).settings), "project": project,
            "owner": staff_exports.owner_of(session, project), "events": staff_exports.events_of(session, export.id)}


@router.get(PREFIX + "/{export_id}")
def export_page(request: Request, export_id: str, signed: StaffDep, canceled: str = "") -> Response:
    with runtime_of(request).sessions() as session:
        shown = _detail(request, signed, session, _export(session, export_id, signed))
    return page("staff_export.html.j2", signed.lang, canceled=bool(canceled), refused=None, **shown)


@router.get(PREFIX + "/{export_id}/cancel")
def confirm_cancel(request: Request, export_id: str, signed: StaffDep) -> Response:
    """The question before the cancel: a click on the export's page alone cannot stop someone's export."""
    with runtime_of(request).sessions() as session:
        shown = _detail(request, signed, session, _export(session, export_id, signed))
    return page("staff_cancel.html.j2", signed.lang, **shown)


@router.post(PREFIX + "/{export_id}/cancel")
async def cancel(request: Request, export_id: str, signed: StaffDep) -> Response:
    """Back to the export's page, saying it is canceled; or that page at once (409) with the status that
    refused the cancel, when the export was already over."""
    check_form(request, signed, await request.form())

    def cancel_it() -> Response:
        with runtime_of(request).sessions() as session:
            export = _export(session, export_id, signed)
            try:
                lifecycle.cancel(session, export, by_user_id=signed.user.id)
            except Conflict:
                return page("staff_export.html.j2", signed.lang, status=409, canceled=False, refused=export.status,
                            **_detail(request, signed, session, export))
        return RedirectResponse(f"{PREFIX}/{export.id}?canceled=1", status_code=303)

    return await run_in_threadpool(cancel_it)

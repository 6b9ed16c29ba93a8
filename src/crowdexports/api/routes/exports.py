"""Export endpoints (SPEC §2). Access checks are dependencies (api/permissions.py); the work is in the domain."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from crowdexports.api.authentication import CallerDep, authenticate
from crowdexports.api.bodies import JsonObject
from crowdexports.api.database import SessionDep, hot_reads, in_database
from crowdexports.api.openapi import CALLER, answers
from crowdexports.api.parameters import parse_id, parse_limit, parse_since
from crowdexports.api.permissions import CancelableExport, OwnProjectForWrite
from crowdexports.api.schemas import ExportCreate, ExportOut, ExportPage
from crowdexports.api.state import DispatchExportDep, RuntimeDep, get_runtime
from crowdexports.exports import access, lifecycle, presets
from crowdexports.exports.listing import MAX_LIMIT, list_resource
from crowdexports.exports.resource import export_resource, resource_of, shown_resource
from crowdexports.models import Export, Project, User, UserRecord
from crowdexports.runtime import Runtime

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["exports"])
LIMIT_DESCRIPTION = (f"Page size: {MAX_LIMIT} when absent. A larger number is not an error: the page holds "
                     f"{MAX_LIMIT}. 0, a negative number or anything but digits is a 400 ValueError.")
CREATE_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": ExportCreate.model_json_schema()}}}}


def _dispatch(dispatch_export: Callable[[int], None], export_id: int) -> None:
    """Ring the worker's doorbell. The row is committed already: if the message is lost, the sweep
    dispatches the export again, so a failure here must not fail the request."""
    try:
        dispatch_export(export_id)
    except Exception:
        logger.exception("dispatch of export %s failed; the sweep will retry it", export_id)


def request_export(session: Session, project: Project, user: User | UserRecord, payload: Mapping[str, object],
                   runtime: Runtime, dispatch_export: Callable[[int], None]) -> Export:
    """The one path of a new export, for this route, the web page (web/pages/projects.py) and the CLI's
    `exports create`: the request checked (with the preset it names, exports.presets), the export stored
    within the project's cap of active exports, the worker's doorbell rung."""
    valid, body = presets.validate_with_preset(session, project, payload, user.lang)
    chosen = {column.id: column.header for column in valid.columns} if body.get("columns") is not None else None
    export = lifecycle.request(session, project=project, user=user, type_=valid.export_type.identifier,
                               format_=valid.writer.format, columns=chosen, options=valid.options,
                               max_active=runtime.settings.max_active_exports_per_project)
    _dispatch(dispatch_export, export.id)
    return export


@router.post("/projects/{project_id}/exports", status_code=201, response_model=ExportOut,
             response_model_exclude_unset=True, openapi_extra=CREATE_BODY)
@answers(400, 429)  # the request's values; too many exports of the project at once
def create_export(project: OwnProjectForWrite, payload: JsonObject, caller: CallerDep, session: SessionDep,
                  runtime: RuntimeDep, dispatch_export: DispatchExportDep, response: Response) -> dict[str, Any]:
    """Ask for an export of the project's orders; a worker makes it and emails it to the caller."""
    export = request_export(session, project, caller.user, payload, runtime, dispatch_export)
    response.headers["Location"] = f"/v1/exports/{export.id}"
    return export_resource(export, caller.user, caller.user, runtime.settings)


def _json(content: dict[str, Any]) -> Response:
    """orjson: several times faster than the json module on a page of 20 exports."""
    return Response(orjson.dumps(content), media_type="application/json")


# The two hot reads (owners' scripts poll them in loops: SPEC §8's throughput targets) take the request
# alone, not dependencies, and answer JSON directly: FastAPI's dependency solving and response model
# validation cost more than the rest of the request (docs/capacity.md). `response_model` documents them.
@router.get("/projects/{project_id}/exports", response_model=ExportPage)
@answers(*CALLER, 400)  # authenticated here, not by a dependency; `limit` or `since` not a number
async def list_exports(
    request: Request, project_id: str,
    limit: str | None = Query(None, description=LIMIT_DESCRIPTION),
    since: str | None = Query(None, description="Unix seconds (a fraction allowed): exports created before."),
) -> Response:
    """The project's exports, newest first, a page at a time (follow `meta.next`)."""
    runtime = await get_runtime(request)
    async with hot_reads(runtime) as connection:
        caller = await authenticate(request, runtime, connection)
        readable = await in_database(runtime, access.readable_project_id, connection, parse_id(project_id),
                                     caller.user)
        page_size, cursor = parse_limit(limit), parse_since(since)
        page = await in_database(runtime, list_resource, connection, readable, caller.user, page_size,
                                 cursor, runtime.settings)
    return _json(page)


@router.get("/exports/{export_id}", response_model=ExportOut)
@answers(*CALLER)  # authenticated here, not by a dependency
async def show_export(request: Request, export_id: str) -> Response:
    """One export, for its project's owner and staff; to anyone else it does not exist."""
    runtime = await get_runtime(request)
    async with hot_reads(runtime) as connection:
        caller = await authenticate(request, runtime, connection)
        resource = await in_database(runtime, shown_resource, connection, parse_id(export_id), caller.user,
                                     runtime.settings)
    return _json(resource)


@router.post("/exports/{export_id}/cancel", response_model=ExportOut, response_model_exclude_unset=True)
@answers(409)  # already over
def cancel_export(export: CancelableExport, caller: CallerDep, session: SessionDep,
                  runtime: RuntimeDep) -> dict[str, Any]:
    """Staff only: stop a waiting or running export; no file and no email come of it."""
    lifecycle.cancel(session, export, by_user_id=caller.user.id)
    return resource_of(session, export, caller.user, runtime.settings)

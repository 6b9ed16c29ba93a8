"""Export endpoints (SPEC §2). Access checks are dependencies (api/permissions.py); the work is in the domain."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Header, Query, Request, Response

from crowdexports.api.authentication import CallerDep, authenticate
from crowdexports.api.bodies import JsonObject
from crowdexports.api.database import SessionDep, hot_reads, in_database
from crowdexports.api.openapi import CALLER, answers
from crowdexports.api.parameters import parse_id, parse_limit, parse_since
from crowdexports.api.permissions import CancelableExport, OwnProjectForWrite, RetryableExport
from crowdexports.api.schemas import ExportCreate, ExportOut, ExportPage
from crowdexports.api.state import DispatchExportDep, RuntimeDep, get_runtime
from crowdexports.exports import access, asking, idempotency, lifecycle
from crowdexports.exports.asking import request_export
from crowdexports.exports.listing import MAX_LIMIT, list_resource
from crowdexports.exports.resource import export_resource, resource_of, shown_resource

router = APIRouter(prefix="/v1", tags=["exports"])
LIMIT_DESCRIPTION = (f"Page size: {MAX_LIMIT} when absent. A larger number is not an error: the page holds "
                     f"{MAX_LIMIT}. 0, a negative number or anything but digits is a 400 ValueError.")
CREATE_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": ExportCreate.model_json_schema()}}}}
REPLAYED = "Idempotent-Replayed"
KEY_DESCRIPTION = ("1 to 255 printable ASCII characters, unique per request (a UUID). Sent again within "
                   f"{int(idempotency.KEY_LIFETIME.total_seconds() // 3600)} hours with the same body, it answers "
                   "the export it made (200, `Idempotent-Replayed: true`) and makes no other; with another body, "
                   "422. Only a request that made an export keeps its key.")
REPLAY_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"model": ExportOut, "description": "A replay: the export an earlier request with this Idempotency-Key "
          "made, as it is now.", "headers": {REPLAYED: {"description": "Always `true`: nothing new was made.",
                                                         "required": True,
                                                         "schema": {"type": "string", "enum": ["true"]}}}},
    422: {"description": "The Idempotency-Key was used for another request (another project or body).",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}},
}


@router.post("/projects/{project_id}/exports", status_code=201, response_model=ExportOut,
             response_model_exclude_unset=True, openapi_extra=CREATE_BODY, responses=REPLAY_ANSWER)
@answers(400, 422, 429)  # the request's values or key; the key used for another request; too many at once
def create_export(project: OwnProjectForWrite, payload: JsonObject, caller: CallerDep, session: SessionDep,
                  runtime: RuntimeDep, dispatch_export: DispatchExportDep, response: Response,
                  idempotency_key: str | None = Header(None, alias=idempotency.HEADER,
                                                       description=KEY_DESCRIPTION)) -> dict[str, Any]:
    """Ask for an export of the project's orders; a worker makes it and emails it to the caller."""
    asked = request_export(session, project, caller.user, payload, runtime, dispatch_export,
                           idempotency.parse_key(idempotency_key))
    response.headers["Location"] = f"/v1/exports/{asked.export.id}"
    if asked.replayed:
        response.status_code = 200
        response.headers[REPLAYED] = "true"
        return resource_of(session, asked.export, caller.user, runtime.settings)
    return export_resource(asked.export, caller.user, caller.user, runtime.settings, retried_by=None)


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
    """The project's owner or staff: stop a waiting or running export; no file and no email come of it."""
    lifecycle.cancel(session, export, by_user_id=caller.user.id)
    return resource_of(session, export, caller.user, runtime.settings)


@router.post("/exports/{export_id}/retry", status_code=201, response_model=ExportOut,
             response_model_exclude_unset=True)
@answers(400, 409, 429)  # a column gone from the catalogue; not failed nor canceled; too many at once
def retry_export(export: RetryableExport, caller: CallerDep, session: SessionDep, runtime: RuntimeDep,
                 dispatch_export: DispatchExportDep, response: Response) -> dict[str, Any]:
    """The project's owner: a new export with the settings of a failed or canceled one. The new one names it
    in `retry_of`, and it names its latest retry in `retried_by`."""
    retried = asking.retry_export(session, export, caller.user, runtime, dispatch_export)
    response.headers["Location"] = f"/v1/exports/{retried.id}"
    return export_resource(retried, caller.user, caller.user, runtime.settings, retried_by=None)

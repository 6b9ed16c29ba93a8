"""Bulk import of a project's orders as JSON lines (SPEC §7): staff only, all or nothing per request.

The rules live in `sync.orders`, shared with `crowdexports import orders`; here is only HTTP. The
body may be far larger than other requests' (`MAX_IMPORT_BYTES`, applied by api/app.py's
BodySizeLimit to IMPORT_PATH). It is read only once the caller is known to be staff (the
dependencies run in order), whole, before the import starts; the import then runs in one
transaction, in the thread pool, and its answer counts what it did.
"""

from __future__ import annotations

import io
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from crowdexports.api.bodies import typed_body
from crowdexports.api.database import SessionDep
from crowdexports.api.openapi import answers
from crowdexports.api.parameters import parse_id
from crowdexports.api.permissions import StaffWriter
from crowdexports.api.schemas import OrdersImported
from crowdexports.errors import NotFound
from crowdexports.models import Project
from crowdexports.sync import jsonlines
from crowdexports.sync.orders import importer

router = APIRouter(prefix="/v1", tags=["sync"])
IMPORT_PATH = re.compile(r"/v1/projects/[^/]+/orders/import")
MEDIA_TYPE = "application/x-ndjson"
EXAMPLE = ('{"id": 1001, "user": {"id": 43, "username": "zoe", "email": "zoe@example.com", "lang": "fr"}, '
           '"created_at": "2024-05-01T12:30:00+02:00", "status": "payment-completed", "payment_method": "creditcard", '
           '"order_total": "27.50", "order_subtotal": 25, "order_shipping_total": "2.50", "note": "", '
           '"shipping_address": null, "billing_address": {"first_name": "Zoé", "last_name": "Durand", '
           '"type": "personal", "address1": "1 rue de Rivoli", "postal_code": "75001", "city": "Paris", '
           '"country": "FR"}, "items": [{"reward_id": 7, "quantity": 1, "unit_price": "25.00", "line_total": 25}], '
           '"tracking": {"source": "newsletter", "medium": "email"}}\n')
BODY = {"requestBody": {"required": True, "content": {MEDIA_TYPE: {
    "schema": {"type": "string", "description": "One Ulule order resource per line (docs/sync.md, \"Orders\")."},
    "example": EXAMPLE}}}}


def _project(project_id: str, caller: StaffWriter, session: SessionDep) -> Project:
    """Staff first (401, 403), then the project (404): others learn nothing of which projects exist."""
    project = session.get(Project, parse_id(project_id))
    if project is None:
        raise NotFound(f"project {project_id} does not exist")
    return project


@answers(415)
async def _lines(request: Request) -> bytes:
    return await typed_body(request, MEDIA_TYPE, "JSON lines")


@router.post("/projects/{project_id}/orders/import", response_model=OrdersImported, openapi_extra=BODY)
@answers(400, 409)  # bad lines; a concurrent change
def import_orders(project: Annotated[Project, Depends(_project)], body: Annotated[bytes, Depends(_lines)],
                  session: SessionDep) -> dict[str, Any]:
    """Create or update the project's orders, one Ulule order resource per line, and their embedded
    users. All or nothing: one bad line and nothing is written, with an error for each bad line."""
    lines = jsonlines.numbered_lines(io.BytesIO(body))
    return importer.import_orders(session, project, lines).as_dict()

"""A delivery's body: the envelope Standard Webhooks suggests (`type`, `timestamp`, `data`) around the
export resource exactly as `GET /v1/exports/{id}` shows it to the endpoint's owner, read when the attempt
is made (so its download `url` is signed afresh). `timestamp` is when the export ended: the same on every
attempt, as the event id is."""

from __future__ import annotations

import orjson
from sqlalchemy.orm import Session

from crowdexports.config import Settings
from crowdexports.exports.resource import resource_of
from crowdexports.exports.timestamps import rfc3339
from crowdexports.models import Export, User, WebhookDelivery


def body(session: Session, delivery: WebhookDelivery, owner: User, settings: Settings) -> bytes:
    """The JSON bytes signed and sent for `delivery`, as its endpoint's owner sees the export."""
    export = session.get_one(Export, delivery.export_id)
    return orjson.dumps({"type": delivery.event, "timestamp": rfc3339(export.finished_at),
                         "data": resource_of(session, export, owner, settings)})

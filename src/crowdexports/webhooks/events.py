"""The events an export's end makes, queued for its owner's endpoints in the very transaction that ends it
(an outbox): the status change and its deliveries commit together or not at all, so a crash between the
two can neither lose an event nor announce an end that did not happen. exports.lifecycle calls it from
each transition to succeeded, failed or canceled; the sender (webhooks.sender) sends them later."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crowdexports.models import Export, Project
from crowdexports.webhooks import deliveries, rules


def event_of(status: str) -> str:
    """The event an export ending in `status` (succeeded, failed, canceled) makes."""
    event = f"export.{status}"
    assert event in rules.EVENTS, status
    return event


def queue_finished(session: Session, export_ids: Sequence[int], status: str, now: datetime) -> None:
    """Queue, in the caller's transaction (not committed here), the event of each export that has just
    ended in `status`, for every endpoint of its project's owner that wants it."""
    if not export_ids:
        return
    rows = session.execute(select(Export.id, Export.project_id, Project.owner_id)
                           .join(Project, Project.id == Export.project_id).where(Export.id.in_(export_ids)))
    for export_id, project_id, owner_id in rows.all():
        deliveries.enqueue(session, export_id=export_id, project_id=project_id, owner_id=owner_id,
                           event=event_of(status), now=now)

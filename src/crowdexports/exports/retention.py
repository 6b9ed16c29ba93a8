"""Retention: a file lives FILE_TTL_DAYS, then the sweep deletes it, on any storage backend.

The file is deleted before the row forgets its key: if the process dies in between, the row still
names the (now missing) file and the next sweep deletes again (a no-op) and clears it. The other
order could leave a file that no row points at, stored for ever.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from crowdexports.exports import lifecycle
from crowdexports.exports.statuses import ExportStatus
from crowdexports.models import Export, utcnow

if TYPE_CHECKING:  # runtime.py wires these modules together, so they may not import it
    from crowdexports.runtime import Runtime

logger = logging.getLogger(__name__)

BATCH = 500  # per sweep; the rest waits for the next one


def purge_expired(runtime: Runtime, now: datetime | None = None) -> int:
    """Delete the files of succeeded exports whose `expires_at` has passed; return how many were purged.

    A storage error ends this round (logged): the store is likely down, and the sweep that runs us
    also re-dispatches lost work, so it must not spend retries on every file. The next sweep goes on.
    """
    now = now or utcnow()
    with runtime.sessions() as session:
        due = session.execute(
            select(Export.id, Export.storage_key)
            .where(Export.status == ExportStatus.SUCCEEDED, Export.storage_key.is_not(None), Export.expires_at <= now)
            .order_by(Export.expires_at).limit(BATCH)
        ).all()
        session.rollback()
        purged = 0
        for export_id, key in due:
            assert key is not None  # the query excludes null keys
            try:
                runtime.storage.delete(key)
            except Exception:
                logger.exception("export %s: could not delete the expired file; trying again later", export_id)
                break
            purged += lifecycle.file_expired(session, export_id, key, now=now)
    if purged:
        logger.info("retention: deleted %s expired file(s)", purged)
    return purged

"""The signed link to an export's file (auth/signing.py): made for the resource's `url` and the email,
followed by the download route. Whoever holds a current link gets the file, with no other credentials."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from crowdexports.auth import signing
from crowdexports.config import Settings
from crowdexports.errors import NotFound
from crowdexports.exports.statuses import ExportStatus
from crowdexports.exports.timestamps import as_datetime
from crowdexports.ids import MAX_ID
from crowdexports.models import Export, ExportFields, utcnow


def download_url(export: ExportFields, settings: Settings, now: datetime | None = None) -> str | None:
    """The signed link while the file can be downloaded, else None."""
    if export.status != ExportStatus.SUCCEEDED or not export.storage_key or export.expires_at is None:
        return None
    expires_at = as_datetime(export.expires_at)
    if expires_at <= (now or utcnow()):
        return None
    path = signing.download_path(settings.resolved_secret_key, export.id, expires_at)
    return settings.public_url.rstrip("/") + path


def downloadable(session: Session, export_id: int, expires: str | None, signature: str | None,
                 settings: Settings) -> Export:
    """The export a signed link points at, if the link is genuine and current and the file is there
    to be read; NotFound otherwise, with one message whatever the reason, so nothing leaks."""
    now = utcnow()
    gone = NotFound("This download link is invalid or has expired.")
    if not signing.verify_download(settings.resolved_secret_key, export_id, expires, signature, now):
        raise gone
    export = session.get(Export, export_id) if export_id <= MAX_ID else None
    if export is None or export.status != ExportStatus.SUCCEEDED or not export.storage_key:
        raise gone
    if export.expires_at is None or export.expires_at <= now:
        raise gone
    return export

"""The read side of exports: who may see what, one page of a list, and the resource of SPEC §2."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crowdexports import signing
from crowdexports.config import Settings
from crowdexports.errors import Forbidden, NotFound, invalid
from crowdexports.exports import lifecycle
from crowdexports.exports.types import get_type
from crowdexports.exports.types.base import select_columns
from crowdexports.exports.writers.base import CsvDialect
from crowdexports.exports.writers.csv import CsvWriter
from crowdexports.models import Export, Project, User, utcnow

MAX_ID = 2**63 - 1  # the largest id a BIGINT holds: larger ones cannot exist
MAX_LIMIT = 20
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_SINCE = Decimal(253402300799)  # 9999-12-31T23:59:59Z: later instants overflow a datetime
SINCE = re.compile(r"[0-9]{1,12}(\.[0-9]{1,9})?")
LIMIT = re.compile(r"[0-9]+")


def _get(session: Session, model: type[Export] | type[Project], object_id: int) -> Any:
    found = session.get(model, object_id) if 0 < object_id <= MAX_ID else None
    if found is None:
        raise NotFound(f"{model.__tablename__[:-1]} {object_id} does not exist")
    return found


def visible_export(session: Session, export_id: int, caller_user: User) -> Export:
    """The export if the caller owns its project or is staff. Otherwise NotFound, exactly as for a
    missing one: an export's existence is private (SPEC §2)."""
    export: Export = _get(session, Export, export_id)
    if not caller_user.is_staff:
        owner_id = session.scalar(select(Project.owner_id).where(Project.id == export.project_id))
        if owner_id != caller_user.id:
            raise NotFound(f"export {export_id} does not exist")
    return export


def owned_project(session: Session, project_id: int, caller_user: User, *,
                  staff_allowed: bool = True) -> Project:
    """The project if the caller owns it (or is staff, when allowed): NotFound if unknown, else Forbidden."""
    project: Project = _get(session, Project, project_id)
    if project.owner_id != caller_user.id and not (staff_allowed and caller_user.is_staff):
        raise Forbidden(f"only the owner of project {project_id} may do this")
    return project


def parse_limit(raw: str | None) -> int:
    """Page size from the query string: default and maximum 20 (larger values are clamped)."""
    if raw is None:
        return MAX_LIMIT
    digits = raw.lstrip("0")
    if not LIMIT.fullmatch(raw) or not digits:
        raise invalid("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
    return MAX_LIMIT if len(digits) > 2 else min(int(digits), MAX_LIMIT)


def parse_since(raw: str | None) -> Decimal | None:
    """A timestamp in seconds, from its text (never through a float): `1700000000` or `1700000000.123456`."""
    if raw is None:
        return None
    if not SINCE.fullmatch(raw) or Decimal(raw) >= MAX_SINCE:
        raise invalid("since", "must be a timestamp in seconds such as 1700000000.123456")
    return Decimal(raw)


def _instant(seconds: Decimal) -> datetime:
    """The first microsecond not before `seconds`: `created_at < since` is then exact at µs precision."""
    micros = int((seconds * 1_000_000).to_integral_value(rounding=ROUND_CEILING))
    return EPOCH + timedelta(microseconds=micros)


def _seconds(moment: datetime) -> str:
    """Unix seconds with exactly six decimals, computed without floats."""
    delta = moment - EPOCH
    return f"{delta.days * 86400 + delta.seconds}.{delta.microseconds:06d}"


def list_page(session: Session, project_id: int, limit: int,
              since: Decimal | None) -> tuple[list[Export], str | None]:
    """Exports of a project, newest first, created strictly before `since`; and the next cursor.

    `created_at` is unique per project (lifecycle.request), so the cursor never skips nor repeats, and
    it alone orders the page: the (project_id, created_at) unique index then gives the page as a range
    read backwards from `since`, at most limit + 1 entries however deep the page. A tie-breaker column
    would make PostgreSQL read and sort the project's every older export instead (tests/api/test_list_plans.py).
    """
    query = select(Export).where(Export.project_id == project_id)
    if since is not None:
        query = query.where(Export.created_at < _instant(since))
    rows = list(session.scalars(query.order_by(Export.created_at.desc()).limit(limit + 1)))
    page = rows[:limit]
    return page, (_seconds(page[-1].created_at) if len(rows) > limit else None)


def rfc3339(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def download_url(export: Export, settings: Settings) -> str | None:
    """The signed link while the file can be downloaded, else None."""
    if export.status != lifecycle.SUCCEEDED or not export.storage_key or export.expires_at is None:
        return None
    if export.expires_at <= utcnow():
        return None
    path = signing.download_path(settings.resolved_secret_key, export.id, export.expires_at)
    return settings.public_url.rstrip("/") + path


def _columns(export: Export, recipient: User) -> dict[str, str]:
    if export.columns is not None:
        return dict(export.columns)
    columns = select_columns(get_type(export.type).catalogue, None, recipient.lang)
    return {column.id: column.header for column in columns}


def _csv_dialect(export: Export) -> str | None:
    """The dialect of a csv export, None for other formats. A csv row without one was written by a
    process of the previous release (during a rolling deploy) and got the only csv there was then."""
    if export.format != CsvWriter.format:
        return None
    return export.csv_dialect or CsvDialect.RFC4180.value


def _progress(export: Export) -> dict[str, int | None] | None:
    """Rows written so far and rows expected (null until the worker has counted them), while processing."""
    if export.status != lifecycle.PROCESSING:
        return None
    return {"rows_done": export.rows_done, "rows_estimated": export.rows_estimated}


def export_resource(export: Export, project: Project, recipient: User, caller: User,
                    settings: Settings) -> dict[str, Any]:
    """The export as the API shows it (SPEC §2); the email only to the recipient themselves."""
    user: dict[str, Any] = {
        "id": recipient.id, "username": recipient.username, "name": recipient.name,
        "first_name": recipient.first_name, "last_name": recipient.last_name, "lang": recipient.lang,
    }
    if caller.id == recipient.id:
        user["email"] = recipient.email
    return {
        "id": export.id, "project_id": project.id, "type": export.type, "format": export.format,
        "csv_dialect": _csv_dialect(export), "status": export.status, "created_at": rfc3339(export.created_at),
        "url": download_url(export, settings), "user": user, "columns": _columns(export, recipient),
        "row_count": export.row_count, "size": export.size, "started_at": rfc3339(export.started_at),
        "finished_at": rfc3339(export.finished_at), "expires_at": rfc3339(export.expires_at),
        "error": export.error,
        "progress": _progress(export),
        "email_status": export.email_status,
    }


def resource_of(session: Session, export: Export, caller: User, settings: Settings) -> dict[str, Any]:
    """export_resource with its project and recipient loaded."""
    project, recipient = session.get_one(Project, export.project_id), session.get_one(User, export.user_id)
    return export_resource(export, project, recipient, caller, settings)


def list_resource(session: Session, project: Project, caller: User, limit: int, since: Decimal | None,
                  settings: Settings) -> dict[str, Any]:
    """One page of SPEC §2's list: `{"exports": [...], "meta": {"limit", "next"}}`."""
    exports, next_since = list_page(session, project.id, limit, since)
    user_ids = {export.user_id for export in exports}
    recipients = {user.id: user for user in session.scalars(select(User).where(User.id.in_(user_ids)))}
    return {
        "exports": [export_resource(e, project, recipients[e.user_id], caller, settings) for e in exports],
        "meta": {"limit": limit, "next": f"?limit={limit}&since={next_since}" if next_since else None},
    }


def downloadable(session: Session, export_id: int, expires: str | None, signature: str | None,
                 settings: Settings) -> Export:
    """The export a signed link points at, if the link is genuine and current and the file is there
    to be read; NotFound otherwise, with one message whatever the reason, so nothing leaks."""
    now = utcnow()
    gone = NotFound("This download link is invalid or has expired.")
    if not signing.verify_download(settings.resolved_secret_key, export_id, expires, signature, now):
        raise gone
    export = session.get(Export, export_id) if export_id <= MAX_ID else None
    if export is None or export.status != lifecycle.SUCCEEDED or not export.storage_key:
        raise gone
    if export.expires_at is None or export.expires_at <= now:
        raise gone
    return export

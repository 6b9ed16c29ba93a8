"""An export as the API shows it (SPEC §2), from an Export or from a row of the hot reads
(crowdexports/database/hotsql.py): both give the same resource."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from crowdexports.config import Settings
from crowdexports.database.hotsql import HotConnection, HotStatement
from crowdexports.exports.access import check_export_visible
from crowdexports.exports.download_links import download_url
from crowdexports.exports.requests import changes_since_of, csv_dialect_of, filters_of, layout_of
from crowdexports.exports.statuses import ExportStatus
from crowdexports.exports.timestamps import rfc3339, rfc3339_text
from crowdexports.exports.types import get_type
from crowdexports.exports.types.base import select_columns
from crowdexports.exports.types.order_layouts import Layout, fit_columns
from crowdexports.ids import MAX_ID
from crowdexports.models import USER_RECORD_COLUMNS, Export, ExportFields, Project, User, UserRecord

_EXPORTS, _PROJECTS, _USERS = Export.__table__, Project.__table__, User.__table__
_RETRIES = _EXPORTS.alias("retries")
_TIMESTAMPS = ("created_at", "started_at", "finished_at", "expires_at")
# `retried_by`: the latest export retrying this one (a retry names the one it repeats in `retry_of`; one
# column names both ways), by the index on `retry_of`.
RETRIED_BY = (select(func.max(_RETRIES.c.id)).where(_RETRIES.c.retry_of == _EXPORTS.c.id)
              .scalar_subquery().label("retried_by"))
# The columns the resource shows (export_resource): the hot reads read only these, timestamps as text.
SHOWN_COLUMNS = (*(rfc3339_text(_EXPORTS.c[name]).label(name) if name in _TIMESTAMPS else _EXPORTS.c[name]
                   for name in ("id", "project_id", "user_id", "type", "format", "columns", "options",
                                "status", "created_at", "storage_key", "expires_at", "row_count", "size",
                                "sha256", "started_at", "finished_at", "error", "rows_done", "rows_estimated",
                                "email_status", "retry_of", "summary")),
                 RETRIED_BY, select(_PROJECTS.c.timezone).where(_PROJECTS.c.id == _EXPORTS.c.project_id)
                 .correlate_except(_PROJECTS).scalar_subquery().label("project_timezone"))


def _columns(export: ExportFields, recipient: User | UserRecord) -> dict[str, str]:
    if export.columns is not None:
        return dict(export.columns)
    return _default_columns(export.type, recipient.lang, layout_of(export.options), export.project_timezone)


@lru_cache(maxsize=256)
def _default_columns(type_: str, lang: str, layout: str, zone: str) -> dict[str, str]:
    """The columns of an export that chose none, as its file heads them (the recipient's language, the
    project's zone) and as its layout writes them: the same for every such export, so one dict is shared
    by their resources (never changed: resources are only serialized)."""
    columns = fit_columns(select_columns(get_type(type_).catalogue, None, lang, zone), Layout(layout), chosen=False)
    return {column.id: column.header for column in columns}


def _progress(export: ExportFields) -> dict[str, int | None] | None:
    """Rows written so far and rows expected (null until the worker has counted them), while processing."""
    if export.status != ExportStatus.PROCESSING:
        return None
    return {"rows_done": export.rows_done, "rows_estimated": export.rows_estimated}


def user_fields(recipient: User | UserRecord, caller: User | UserRecord) -> dict[str, Any]:
    """The resource's `user`; the email only to the recipient themselves."""
    user: dict[str, Any] = {
        "id": recipient.id, "username": recipient.username, "name": recipient.name,
        "first_name": recipient.first_name, "last_name": recipient.last_name, "lang": recipient.lang,
    }
    if caller.id == recipient.id:
        user["email"] = recipient.email
    return user


def export_resource(export: ExportFields, recipient: User | UserRecord, caller: User | UserRecord,
                    settings: Settings, *, retried_by: int | None, user: dict[str, Any] | None = None,
                    now: datetime | None = None) -> dict[str, Any]:
    """The export as the API shows it (SPEC §2). `retried_by`: a row of SHOWN_COLUMNS has it, an Export
    does not (`retried_by_of`). A list page passes its `user` (per recipient) and `now`, the same for each
    of its exports."""
    return {
        "id": export.id, "project_id": export.project_id, "type": export.type, "format": export.format,
        "csv_dialect": csv_dialect_of(export.format, export.options), "status": export.status,
        "created_at": rfc3339(export.created_at),
        "url": download_url(export, settings, now), "user": user or user_fields(recipient, caller),
        "columns": _columns(export, recipient), "filters": filters_of(export.options),
        "layout": layout_of(export.options),
        "row_count": export.row_count, "size": export.size, "sha256": export.sha256, "summary": export.summary,
        "started_at": rfc3339(export.started_at),
        "finished_at": rfc3339(export.finished_at), "expires_at": rfc3339(export.expires_at),
        "error": export.error,
        "progress": _progress(export),
        "email_status": export.email_status,
        "changes_since": changes_since_of(export.options), "retry_of": export.retry_of, "retried_by": retried_by,
    }


def retried_by_of(session: Session, export_id: int) -> int | None:
    """The latest export retrying this one, if any."""
    return session.scalar(select(func.max(Export.id)).where(Export.retry_of == export_id))


def resource_of(session: Session, export: Export, caller: User | UserRecord, settings: Settings) -> dict[str, Any]:
    """export_resource with its recipient and its retry loaded."""
    return export_resource(export, session.get_one(User, export.user_id), caller, settings,
                           retried_by=retried_by_of(session, export.id))


_RECIPIENT = tuple(column.label(f"recipient_{column.name}") for column in USER_RECORD_COLUMNS)
_SHOWN = HotStatement(
    select(*SHOWN_COLUMNS, _PROJECTS.c.owner_id, *_RECIPIENT)
    .join_from(_EXPORTS, _PROJECTS, _PROJECTS.c.id == _EXPORTS.c.project_id)
    .join(_USERS, _USERS.c.id == _EXPORTS.c.user_id)
    .where(_EXPORTS.c.id == bindparam("export_id")))


def _recipient(row: Any) -> UserRecord:
    return UserRecord(*row[-len(_RECIPIENT):])


def shown_resource(connection: HotConnection, export_id: int, caller: UserRecord,
                   settings: Settings) -> dict[str, Any]:
    """`GET /v1/exports/{id}`: the export, its owner and its recipient in one statement on the hot path
    (crowdexports/database/hotsql.py), checked by the same rule as `access.visible_export`."""
    row = connection.first(_SHOWN, export_id=export_id) if 0 < export_id <= MAX_ID else None
    check_export_visible(export_id, None if row is None else row.owner_id, caller)
    assert row is not None  # check_export_visible refused a missing one
    return export_resource(row, _recipient(row), caller, settings, retried_by=row.retried_by)

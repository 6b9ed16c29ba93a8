"""The read side of exports: who may see what, one page of a list, and the resource of SPEC §2."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import String, bindparam, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from crowdexports.auth import signing
from crowdexports.config import Settings
from crowdexports.database.hotsql import HotConnection, HotStatement
from crowdexports.errors import Forbidden, NotFound, invalid
from crowdexports.exports.requests import csv_dialect_of
from crowdexports.exports.statuses import ExportStatus
from crowdexports.exports.types import get_type
from crowdexports.exports.types.base import select_columns
from crowdexports.models import USER_RECORD_COLUMNS, Export, Project, User, UserRecord, utcnow

MAX_ID = 2**63 - 1  # the largest id a BIGINT holds: larger ones cannot exist
MAX_LIMIT = 20
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_SINCE = Decimal(253402300799)  # 9999-12-31T23:59:59Z: later instants overflow a datetime
SINCE = re.compile(r"[0-9]{1,12}(\.[0-9]{1,9})?")
LIMIT = re.compile(r"[0-9]+")
# An Export, or a Core row of the exports table (the API's hot reads): the same attribute names.
ExportFields = Any
_EXPORTS, _PROJECTS, _USERS = Export.__table__, Project.__table__, User.__table__


class rfc3339_text(FunctionElement[str]):  # noqa: N801 - a SQL function, named like one
    """A UTCDateTime column as RFC 3339 text (`2026-11-28T09:15:02.123456Z`), made by the database: a
    list page's 80 timestamps then cost no datetime decoding and formatting in Python (a third of
    its per-export time). SQLite stores SQLAlchemy's `2026-11-28 09:15:02.123456`."""

    type = String()
    inherit_cache = True


@compiles(rfc3339_text, "sqlite")
def _rfc3339_sqlite(element: rfc3339_text, compiler: SQLCompiler, **kw: Any) -> str:
    return f"replace({compiler.process(element.clauses, **kw)}, ' ', 'T') || 'Z'"


@compiles(rfc3339_text, "postgresql")
def _rfc3339_postgresql(element: rfc3339_text, compiler: SQLCompiler, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"


_TIMESTAMPS = ("created_at", "started_at", "finished_at", "expires_at")
# The columns the resource shows (export_resource): the hot reads read only these, timestamps as text.
_SHOWN_COLUMNS = tuple(rfc3339_text(_EXPORTS.c[name]).label(name) if name in _TIMESTAMPS else _EXPORTS.c[name]
                       for name in ("id", "project_id", "user_id", "type", "format", "columns", "options",
                                    "status", "created_at", "storage_key", "expires_at", "row_count", "size",
                                    "started_at", "finished_at", "error", "rows_done", "rows_estimated",
                                    "email_status"))


def _check_export_visible(export_id: int, owner_id: int | None, caller: User | UserRecord) -> None:
    """An export is seen by its project's owner and staff. Others get NotFound, exactly as for a missing
    one (`owner_id` None): an export's existence is private (SPEC §2)."""
    if owner_id is None or not (caller.is_staff or owner_id == caller.id):
        raise NotFound(f"export {export_id} does not exist")


def _check_project_owned(project_id: int, owner_id: int | None, caller: User | UserRecord,
                         staff_allowed: bool) -> None:
    """A project is its owner's (and staff's, when allowed): NotFound if unknown, else Forbidden."""
    if owner_id is None:
        raise NotFound(f"project {project_id} does not exist")
    if owner_id != caller.id and not (staff_allowed and caller.is_staff):
        raise Forbidden(f"only the owner of project {project_id} may do this")


def visible_export(session: Session, export_id: int, caller_user: User | UserRecord) -> Export:
    """The export, if the caller may see it (`_check_export_visible`)."""
    export = session.get(Export, export_id) if 0 < export_id <= MAX_ID else None
    owner_id = None if export is None else session.scalar(
        select(Project.owner_id).where(Project.id == export.project_id))
    _check_export_visible(export_id, owner_id, caller_user)
    assert export is not None
    return export


def owned_project(session: Session, project_id: int, caller_user: User | UserRecord, *,
                  staff_allowed: bool = True) -> Project:
    """The project, if the caller owns it (`_check_project_owned`)."""
    project = session.get(Project, project_id) if 0 < project_id <= MAX_ID else None
    _check_project_owned(project_id, None if project is None else project.owner_id, caller_user, staff_allowed)
    assert project is not None
    return project


_PROJECT_OWNER = HotStatement(select(_PROJECTS.c.owner_id).where(_PROJECTS.c.id == bindparam("project_id")))


def readable_project_id(connection: HotConnection, project_id: int, caller_user: UserRecord) -> int:
    """`owned_project` for the list, on the hot path (crowdexports/database/hotsql.py): the project's id."""
    row = connection.first(_PROJECT_OWNER, project_id=project_id) if 0 < project_id <= MAX_ID else None
    _check_project_owned(project_id, None if row is None else row.owner_id, caller_user, staff_allowed=True)
    return project_id


def parse_limit(raw: str | None) -> int:
    """Page size from the query string: default and maximum 20 (larger values are clamped)."""
    if raw is None:
        return MAX_LIMIT
    digits = raw.lstrip("0")
    if not LIMIT.fullmatch(raw) or not digits:
        raise invalid("limit", f"must be a whole number of 1 or more (a page holds at most {MAX_LIMIT})")
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


def page_statement(since: bool) -> Select[Any]:
    """The SELECT of one page: a project's exports, newest first, created strictly before `since` when
    it is given (parameters `project_id`, `since`); MAX_LIMIT + 1 rows, the extra one telling whether
    there is a next page. Recipients are read apart, by primary key: joined here, they made
    PostgreSQL's planner sort every older export of the project on some pages.

    `created_at` is unique per project (lifecycle.request), so the cursor never skips nor repeats, and
    it alone orders the page: the (project_id, created_at) unique index then gives the page as a range
    read backwards from `since`, at most limit + 1 entries however deep the page. A tie-breaker column
    would make PostgreSQL read and sort the project's every older export instead (tests/api/test_list_plans.py).
    """
    query = select(*_SHOWN_COLUMNS).where(_EXPORTS.c.project_id == bindparam("project_id"))
    if since:
        query = query.where(_EXPORTS.c.created_at < bindparam("since", type_=_EXPORTS.c.created_at.type))
    return query.order_by(_EXPORTS.c.created_at.desc()).limit(MAX_LIMIT + 1)


_PAGES = {since: HotStatement(page_statement(since)) for since in (False, True)}


def list_page(connection: HotConnection, project_id: int, limit: int,
              since: Decimal | None) -> tuple[list[ExportFields], str | None]:
    """One page of exports (rows of the exports table) and the next page's cursor, if there is one."""
    params: dict[str, Any] = {"project_id": project_id}
    if since is not None:
        params["since"] = _instant(since)
    rows = connection.rows(_PAGES[since is not None], **params)[:limit + 1]
    page = rows[:limit]
    return page, (_seconds(_moment(page[-1].created_at)) if len(rows) > limit else None)


def _moment(value: datetime | str) -> datetime:
    """A timestamp as the ORM gives it, or as the hot reads do (rfc3339_text)."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def rfc3339(moment: datetime | str | None) -> str | None:
    """`2026-11-28T09:15:02.123456Z` (isoformat: strftime cost a tenth of a list page); text from
    rfc3339_text is that already."""
    if moment is None or isinstance(moment, str):
        return moment
    text = moment.isoformat(timespec="microseconds")
    if text.endswith("+00:00"):  # what the models give: aware UTC
        return text[:-6] + "Z"
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def download_url(export: ExportFields, settings: Settings, now: datetime | None = None) -> str | None:
    """The signed link while the file can be downloaded, else None."""
    if export.status != ExportStatus.SUCCEEDED or not export.storage_key or export.expires_at is None:
        return None
    expires_at = _moment(export.expires_at)
    if expires_at <= (now or utcnow()):
        return None
    path = signing.download_path(settings.resolved_secret_key, export.id, expires_at)
    return settings.public_url.rstrip("/") + path


def _columns(export: ExportFields, recipient: User | UserRecord) -> dict[str, str]:
    if export.columns is not None:
        return dict(export.columns)
    return _default_columns(export.type, recipient.lang)


@lru_cache(maxsize=256)
def _default_columns(type_: str, lang: str) -> dict[str, str]:
    """The columns of an export that chose none, in the recipient's language: the same for every such
    export, so one dict is shared by their resources (never changed: resources are only serialized)."""
    return {column.id: column.header for column in select_columns(get_type(type_).catalogue, None, lang)}


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
                    settings: Settings, *, user: dict[str, Any] | None = None,
                    now: datetime | None = None) -> dict[str, Any]:
    """The export as the API shows it (SPEC §2). A list page passes its `user` (per recipient) and
    `now`, the same for each of its exports."""
    return {
        "id": export.id, "project_id": export.project_id, "type": export.type, "format": export.format,
        "csv_dialect": csv_dialect_of(export.format, export.options), "status": export.status,
        "created_at": rfc3339(export.created_at),
        "url": download_url(export, settings, now), "user": user or user_fields(recipient, caller),
        "columns": _columns(export, recipient),
        "row_count": export.row_count, "size": export.size, "started_at": rfc3339(export.started_at),
        "finished_at": rfc3339(export.finished_at), "expires_at": rfc3339(export.expires_at),
        "error": export.error,
        "progress": _progress(export),
        "email_status": export.email_status,
    }


def resource_of(session: Session, export: Export, caller: User | UserRecord, settings: Settings) -> dict[str, Any]:
    """export_resource with its recipient loaded."""
    return export_resource(export, session.get_one(User, export.user_id), caller, settings)


_USER = HotStatement(select(*USER_RECORD_COLUMNS).where(_USERS.c.id == bindparam("user_id")))
_RECIPIENT = tuple(column.label(f"recipient_{column.name}") for column in USER_RECORD_COLUMNS)
_SHOWN = HotStatement(
    select(*_SHOWN_COLUMNS, _PROJECTS.c.owner_id, *_RECIPIENT)
    .join_from(_EXPORTS, _PROJECTS, _PROJECTS.c.id == _EXPORTS.c.project_id)
    .join(_USERS, _USERS.c.id == _EXPORTS.c.user_id)
    .where(_EXPORTS.c.id == bindparam("export_id")))


def _user(connection: HotConnection, user_id: int) -> UserRecord:
    row = connection.first(_USER, user_id=user_id)
    assert row is not None  # exports.user_id is a foreign key
    return UserRecord(*row)


def _recipient(row: Any) -> UserRecord:
    return UserRecord(*row[-len(_RECIPIENT):])


def shown_resource(connection: HotConnection, export_id: int, caller: UserRecord,
                   settings: Settings) -> dict[str, Any]:
    """`GET /v1/exports/{id}`: the export, its owner and its recipient in one statement on the hot path
    (crowdexports/database/hotsql.py), checked by the same rule as `visible_export`."""
    row = connection.first(_SHOWN, export_id=export_id) if 0 < export_id <= MAX_ID else None
    _check_export_visible(export_id, None if row is None else row.owner_id, caller)
    return export_resource(row, _recipient(row), caller, settings)


def list_resource(connection: HotConnection, project_id: int, caller: UserRecord, limit: int,
                  since: Decimal | None, settings: Settings) -> dict[str, Any]:
    """One page of SPEC §2's list: `{"exports": [...], "meta": {"limit", "next"}}`."""
    exports, next_since = list_page(connection, project_id, limit, since)
    recipients = {user_id: _user(connection, user_id) for user_id in {export.user_id for export in exports}}
    users, now = {user_id: user_fields(recipient, caller) for user_id, recipient in recipients.items()}, utcnow()
    return {
        "exports": [export_resource(e, recipients[e.user_id], caller, settings, user=users[e.user_id], now=now)
                    for e in exports],
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
    if export is None or export.status != ExportStatus.SUCCEEDED or not export.storage_key:
        raise gone
    if export.expires_at is None or export.expires_at <= now:
        raise gone
    return export

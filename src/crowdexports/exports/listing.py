"""A project's exports, newest first, a page at a time (SPEC §2): the page's statement, its `since` cursor,
and the page as the API shows it. Who may list a project is `exports.access`'s."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.sql import Select

from crowdexports.config import Settings
from crowdexports.database.hotsql import HotConnection, HotStatement
from crowdexports.exports.resource import SHOWN_COLUMNS, export_resource, user_fields
from crowdexports.exports.timestamps import as_datetime
from crowdexports.models import USER_RECORD_COLUMNS, Export, ExportFields, User, UserRecord, utcnow

MAX_LIMIT = 20
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EXPORTS, _USERS = Export.__table__, User.__table__


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
    query = select(*SHOWN_COLUMNS).where(_EXPORTS.c.project_id == bindparam("project_id"))
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
    return page, (_seconds(as_datetime(page[-1].created_at)) if len(rows) > limit else None)


_USER = HotStatement(select(*USER_RECORD_COLUMNS).where(_USERS.c.id == bindparam("user_id")))


def _user(connection: HotConnection, user_id: int) -> UserRecord:
    row = connection.first(_USER, user_id=user_id)
    assert row is not None  # exports.user_id is a foreign key
    return UserRecord(*row)


def list_resource(connection: HotConnection, project_id: int, caller: UserRecord, limit: int,
                  since: Decimal | None, settings: Settings) -> dict[str, Any]:
    """One page of SPEC §2's list: `{"exports": [...], "meta": {"limit", "next"}}`."""
    exports, next_since = list_page(connection, project_id, limit, since)
    recipients = {user_id: _user(connection, user_id) for user_id in {export.user_id for export in exports}}
    users, now = {user_id: user_fields(recipient, caller) for user_id, recipient in recipients.items()}, utcnow()
    return {
        "exports": [export_resource(e, recipients[e.user_id], caller, settings, retried_by=e.retried_by,
                                   user=users[e.user_id], now=now)
                    for e in exports],
        "meta": {"limit": limit, "next": f"?limit={limit}&since={next_since}" if next_since else None},
    }

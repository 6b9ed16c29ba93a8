"""What the staff pages read: every project's exports, filtered, a page at a time in one statement (joined
to the project and its owner, so no query per row), and one export with its event history.

Filters come from the query string as typed; a value that is not one (a status that does not exist, a
date that is not a date) is named by `problems` and not applied, so the page says so instead of failing.
Dates are UTC days: the exports listed belong to projects in many time zones, and one day for all of
them is what a "from" and a "to" can mean across projects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from crowdexports.exports.statuses import ExportStatus
from crowdexports.ids import MAX_ID
from crowdexports.models import Export, ExportEvent, Project, User

PAGE_SIZE = 50
STATUSES = tuple(status.value for status in ExportStatus)


@dataclass(frozen=True)
class Filters:
    """The filters as typed (shown back in the form) and, parsed, the ones that apply."""

    status: str = ""
    project: str = ""
    owner: str = ""
    created_from: str = ""
    created_to: str = ""
    problems: dict[str, str] = field(default_factory=dict)  # field: "status" | "id" | "date" | "range"

    def query(self, **extra: str) -> str:
        """The query string of these filters (plus `extra`), for the next page's link."""
        values = {"status": self.status, "project": self.project, "owner": self.owner,
                  "created_from": self.created_from, "created_to": self.created_to, **extra}
        return urlencode({name: value for name, value in values.items() if value})


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def parse(status: str, project: str, owner: str, created_from: str, created_to: str) -> Filters:
    """The filters of a query string, with a problem per value that is not one."""
    status, project, owner = status.strip(), project.strip(), owner.strip()
    created_from, created_to = created_from.strip(), created_to.strip()
    problems: dict[str, str] = {}
    if status and status not in STATUSES:
        problems["status"] = "status"
    if project and not (project.isdigit() and 0 < int(project) <= MAX_ID):
        problems["project"] = "id"
    for name, raw in (("created_from", created_from), ("created_to", created_to)):
        if raw and _day(raw) is None:
            problems[name] = "date"
    start, end = _day(created_from), _day(created_to)
    if start and end and start > end:
        problems["created_to"] = "range"
    return Filters(status, project, owner, created_from, created_to, problems)


@dataclass(frozen=True)
class Listed:
    id: int
    created_at: datetime
    format: str
    status: str
    row_count: int | None
    project_id: int
    project_name: str
    timezone: str
    owner: str


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def cursor(raw: str) -> int | None:
    """The `before` of a page's link; anything else is the first page."""
    return int(raw) if raw.isdigit() and 0 < int(raw) <= MAX_ID else None


def exports_page(session: Session, filters: Filters, before: int | None) -> tuple[list[Listed], int | None]:
    """A page of exports, newest first, and the id to ask the next page `before`, if there is one.

    Keyset paging on (created_at, id), as the API's list pages on created_at: `created_at` is unique per
    project only, so the id breaks ties between projects. The cursor is an export id, read back for its
    time; an id that names nothing is the first page."""
    query = (select(Export.id, Export.created_at, Export.format, Export.status, Export.row_count,
                    Export.project_id, Project.name.label("project_name"), Project.timezone,
                    User.username.label("owner"))
             .join(Project, Project.id == Export.project_id).join(User, User.id == Project.owner_id))
    applied = {name for name in ("status", "project", "owner", "created_from", "created_to")
               if getattr(filters, name) and name not in filters.problems}
    if "status" in applied:
        query = query.where(Export.status == filters.status)
    if "project" in applied:
        query = query.where(Export.project_id == int(filters.project))
    if "owner" in applied:
        query = query.where(User.username == filters.owner)
    if "created_from" in applied:
        query = query.where(Export.created_at >= _midnight(date.fromisoformat(filters.created_from)))
    if "created_to" in applied and (last := date.fromisoformat(filters.created_to)) < date.max:  # no day after max
        query = query.where(Export.created_at < _midnight(last + timedelta(days=1)))
    before_at = session.execute(select(Export.created_at).where(Export.id == before)).scalar() if before else None
    if before_at is not None:
        query = query.where(or_(Export.created_at < before_at,
                                and_(Export.created_at == before_at, Export.id < before)))
    rows = session.execute(query.order_by(Export.created_at.desc(), Export.id.desc()).limit(PAGE_SIZE + 1)).all()
    listed = [Listed(**row._asdict()) for row in rows[:PAGE_SIZE]]
    return listed, (listed[-1].id if len(rows) > PAGE_SIZE else None)


@dataclass(frozen=True)
class Event:
    at: datetime
    kind: str
    detail: str


def events_of(session: Session, export_id: int) -> list[Event]:
    """The export's history, oldest first, as `exports.lifecycle` wrote it."""
    return [Event(*row) for row in session.execute(
        select(ExportEvent.at, ExportEvent.kind, ExportEvent.detail)
        .where(ExportEvent.export_id == export_id).order_by(ExportEvent.at, ExportEvent.id))]


def owner_of(session: Session, project: Project) -> str:
    return session.get_one(User, project.owner_id).username

""""My projects": each project a user owns with its order count and its latest export, in three
statements however many projects (no query per project)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crowdexports.models import Export, Order, Project


@dataclass(frozen=True)
class ProjectSummary:
    id: int
    name: str
    timezone: str
    orders: int
    last_export_at: datetime | None
    last_export_status: str | None


def projects_of(session: Session, owner_id: int) -> list[ProjectSummary]:
    projects = session.execute(select(Project.id, Project.name, Project.timezone)
                               .where(Project.owner_id == owner_id).order_by(Project.name, Project.id)).all()
    ids = [project.id for project in projects]
    if not ids:
        return []
    orders: dict[int, int] = dict(session.execute(
        select(Order.project_id, func.count()).where(Order.project_id.in_(ids)).group_by(Order.project_id)).all())
    newest = (select(Export.project_id, func.max(Export.created_at).label("created_at"))
              .where(Export.project_id.in_(ids)).group_by(Export.project_id).subquery())
    latest = {row.project_id: (row.created_at, row.status) for row in session.execute(
        select(Export.project_id, Export.created_at, Export.status)
        .join(newest, (newest.c.project_id == Export.project_id) & (newest.c.created_at == Export.created_at)))}
    return [ProjectSummary(project.id, project.name, project.timezone, orders.get(project.id, 0),
                           *latest.get(project.id, (None, None)))
            for project in projects]

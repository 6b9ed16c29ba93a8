"""Who may see which project and which export (SPEC §2): the rules in one place, whatever asks (the API's
dependencies, its hot reads, pages), and lookups of a project or an export that apply them."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from crowdexports.database.hotsql import HotConnection, HotStatement
from crowdexports.errors import Forbidden, NotFound
from crowdexports.ids import MAX_ID
from crowdexports.models import Export, Project, User, UserRecord

_PROJECTS = Project.__table__


def check_export_visible(export_id: int, owner_id: int | None, caller: User | UserRecord) -> None:
    """An export is seen by its project's owner and staff. Others get NotFound, exactly as for a missing
    one (`owner_id` None): an export's existence is private (SPEC §2)."""
    if owner_id is None or not (caller.is_staff or owner_id == caller.id):
        raise NotFound(f"export {export_id} does not exist")


def check_project_owned(project_id: int, owner_id: int | None, caller: User | UserRecord,
                        staff_allowed: bool) -> None:
    """A project is its owner's (and staff's, when allowed): NotFound if unknown, else Forbidden."""
    if owner_id is None:
        raise NotFound(f"project {project_id} does not exist")
    if owner_id != caller.id and not (staff_allowed and caller.is_staff):
        raise Forbidden(f"only the owner of project {project_id} may do this")


def visible_export(session: Session, export_id: int, caller_user: User | UserRecord) -> Export:
    """The export, if the caller may see it (`check_export_visible`)."""
    export = session.get(Export, export_id) if 0 < export_id <= MAX_ID else None
    owner_id = None if export is None else session.scalar(
        select(Project.owner_id).where(Project.id == export.project_id))
    check_export_visible(export_id, owner_id, caller_user)
    assert export is not None
    return export


def owned_export(session: Session, export_id: int, caller_user: User | UserRecord) -> Export:
    """The export, if the caller owns its project: who may retry it, as only the owner asks for a new export
    (the retry goes to whoever asks), and who gets the cancel button on the project's page. Staff get
    Forbidden, others NotFound (`visible_export`). The API's cancel needs no rule of its own: whoever sees
    an export, its project's owner or staff, may cancel it (docs/decisions.md)."""
    export = visible_export(session, export_id, caller_user)
    owner_id = session.scalar(select(Project.owner_id).where(Project.id == export.project_id))
    if owner_id != caller_user.id:
        raise Forbidden(f"only the owner of project {export.project_id} may retry its exports")
    return export


def owned_project(session: Session, project_id: int, caller_user: User | UserRecord, *,
                  staff_allowed: bool = True) -> Project:
    """The project, if the caller owns it (`check_project_owned`)."""
    project = session.get(Project, project_id) if 0 < project_id <= MAX_ID else None
    check_project_owned(project_id, None if project is None else project.owner_id, caller_user, staff_allowed)
    assert project is not None
    return project


def settings_project(session: Session, project_id: int, caller_user: User | UserRecord, *, write: bool,
                     kept: str) -> Project:
    """The project whose `kept` settings (export presets, export schedules) the caller reads (owner, staff)
    or writes (owner): `owned_project`'s rule, but to anyone else they do not exist, as for a missing
    project (one message for both); staff writing is Forbidden."""
    try:
        return owned_project(session, project_id, caller_user, staff_allowed=not write)
    except Forbidden:
        if write and caller_user.is_staff:
            raise Forbidden(f"only the owner of project {project_id} may change its {kept}") from None
    except NotFound:
        pass
    raise NotFound(f"project {project_id} has no {kept} you may see")


_PROJECT_OWNER = HotStatement(select(_PROJECTS.c.owner_id).where(_PROJECTS.c.id == bindparam("project_id")))


def readable_project_id(connection: HotConnection, project_id: int, caller_user: UserRecord) -> int:
    """`owned_project` for the list, on the hot path (crowdexports/database/hotsql.py): the project's id."""
    row = connection.first(_PROJECT_OWNER, project_id=project_id) if 0 < project_id <= MAX_ID else None
    check_project_owned(project_id, None if row is None else row.owner_id, caller_user, staff_allowed=True)
    return project_id

"""Who may see which project on the page: the API's own rule (`exports.access`), with one difference of
answer: a project the visitor may not see is the same "not found" page as one that does not exist, so
the page tells no one which project ids exist. The staff pages and the privacy tests build on these."""

from __future__ import annotations

from sqlalchemy.orm import Session

from crowdexports.api.parameters import parse_id
from crowdexports.errors import Forbidden, NotFound
from crowdexports.exports import access
from crowdexports.models import Project, UserRecord
from crowdexports.web.errors import PageNotFound


def visible_project(session: Session, raw_id: str, user: UserRecord) -> Project:
    """The project if `user` may see it (its owner, staff): the API's `owned_project` rule."""
    try:
        return access.owned_project(session, parse_id(raw_id), user, staff_allowed=True)
    except (NotFound, Forbidden):
        raise PageNotFound() from None


def requestable_project(session: Session, raw_id: str, user: UserRecord) -> Project:
    """The project if `user` may ask for its export: its owner only, as `POST /v1/projects/{id}/exports`."""
    try:
        return access.owned_project(session, parse_id(raw_id), user, staff_allowed=False)
    except (NotFound, Forbidden):
        raise PageNotFound() from None


def may_request_export(project: Project, user: UserRecord) -> bool:
    """Whether the page offers the export form (requestable_project decides when it is posted)."""
    return project.owner_id == user.id

"""`changes_since` of an orders export (issue 16.5): only the orders changed since an earlier export.

The request gives `"last"` or an export id; it is resolved when the export is asked for, into the base
export and its marker (`exports.changes_upto`, the last order change number it included, sync.changes),
and stored so in the type's options: the file then holds the orders numbered after that marker, up to
its own. Rules (docs/decisions.md, "Changes since an export"):
- an id must be an orders export of the same project that succeeded and has a marker; anything else is
  400 on `changes_since`, worded alike for another project's export and for none, so it reveals nothing;
- `"last"` is the project's latest such export, whoever asked for it; with none it is every order
  (stored as no base, and said so);
- a retry keeps the base of the export it repeats.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crowdexports.errors import FieldProblem, InvalidInput
from crowdexports.exports.statuses import ExportStatus
from crowdexports.models import Export
from crowdexports.rules.kinds import MAX_ID

NAME = "changes_since"  # the request's field (rules.exports.CHANGES_SINCE) and the type's option
LAST = "last"
RULE = 'must be "last" or the id of a succeeded orders export of this project'


@dataclass(frozen=True)
class ChangesSince:
    """The base of an incremental export: its id, and the last change number it included."""

    export_id: int
    after: int

    def to_json(self) -> dict[str, int]:
        return {"export_id": self.export_id, "after": self.after}


def check_value(value: object) -> list[FieldProblem]:
    """The problems of a request's `changes_since` (None: absent): `"last"` or a positive id."""
    if value is None or value == LAST or (type(value) is int and 0 < value <= MAX_ID):
        return []
    wrong_type = type(value) not in (str, int)
    return [FieldProblem([NAME], RULE, "TypeError" if wrong_type else "ValueError")]


def parse_stored(raw: object) -> ChangesSince | None:
    """The stored form (`to_json`), or None; InvalidInput if it is anything else."""
    if raw is None:
        return None
    if (isinstance(raw, Mapping) and set(raw) == {"export_id", "after"}
            and all(type(raw[key]) is int for key in raw)):
        return ChangesSince(raw["export_id"], raw["after"])
    raise InvalidInput([FieldProblem([NAME], "must be stored as {export_id, after}", "TypeError")])


def resolve(session: Session, project_id: int, value: object) -> ChangesSince | None:
    """The base a checked `changes_since` names (None: every order); InvalidInput if it names no
    succeeded orders export of the project with a marker."""
    if value is None:
        return None
    query = (select(Export.id, Export.changes_upto)
             .where(Export.project_id == project_id, Export.type == "orders",
                    Export.status == ExportStatus.SUCCEEDED, Export.changes_upto.is_not(None)))
    if value == LAST:
        row = session.execute(query.order_by(Export.created_at.desc()).limit(1)).first()
        return None if row is None else ChangesSince(row.id, row.changes_upto)
    row = session.execute(query.where(Export.id == value)).first()
    if row is None:
        raise InvalidInput([FieldProblem([NAME], RULE)])
    return ChangesSince(row.id, row.changes_upto)


def shown(type_options: Mapping[str, Any]) -> int | None:
    """The API's `changes_since` of an export: its base's id (None: every order)."""
    base = type_options.get(NAME)
    return base["export_id"] if isinstance(base, Mapping) else None

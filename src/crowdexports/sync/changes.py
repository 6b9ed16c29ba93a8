"""Order change numbers (issue 16.5): what lets an export hold only the orders changed since another.

Every order import that writes an order (a new one, or a changed value, item or address; never an
unchanged one) stamps it with one number per import and project, `orders.change_seq`, taken from the
project's `order_changes` row by an upsert that keeps the row locked until the import commits. So the
numbers commit in the order they are given: while an import holding number n is in flight, no number
above n-1 is committed, and a reader's committed `last_change` is a number below which nothing can still
commit. An export reads it first (`last_change`) and keeps only orders numbered up to it, so an import
committing during the export's read is left out of it whole and is in the next incremental export: never
lost, never twice (docs/decisions.md, "Changes since an export").
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

# PostgreSQL and SQLite (3.35+) alike: the row's lock (PostgreSQL) or the write lock (SQLite) is held to commit.
_NEXT = text("INSERT INTO order_changes (project_id, last_change) VALUES (:project_id, 1) "
             "ON CONFLICT (project_id) DO UPDATE SET last_change = order_changes.last_change + 1 "
             "RETURNING last_change")
_LAST = text("SELECT last_change FROM order_changes WHERE project_id = :project_id")


def next_change(connection: Connection, project_id: int) -> int:
    """A new change number of the project, in the caller's transaction."""
    return int(connection.execute(_NEXT, {"project_id": project_id}).scalar_one())


def last_change(session: Session, project_id: int) -> int:
    """The project's last committed change number (0: none yet): every order numbered up to it is
    committed, and none numbered up to it can still be written."""
    return int(session.execute(_LAST, {"project_id": project_id}).scalar() or 0)

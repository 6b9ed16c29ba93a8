"""A date-range filter on a large project reads a range of ix_orders_project_created (project_id,
created_at, id), not the whole table: the database's own plan of the export's very statement, on SQLite
and on PostgreSQL, over 30,000 orders of two projects (run with -s to see them)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from crowdexports.exports.database_rows import driver_statement
from crowdexports.exports.types.order_filters import parse_filters
from crowdexports.exports.types.orders import _SQL, ORDERS
from crowdexports.models import utcnow
from crowdexports.seed import seed_orders
from tests.conftest import STACK
from tests.factories import make_project, make_user

LARGE, OTHER = 20_000, 10_000


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(node for child in plan.get("Plans", []) for node in _nodes(child))]


def test_a_date_range_filter_reads_an_index_range(session: Session) -> None:
    owner = make_user(session, "planner")
    large = make_project(session, owner, "Large")
    seed_orders(session, large.id, LARGE, seed=3)
    seed_orders(session, make_project(session, owner, "Other").id, OTHER, seed=4)
    session.execute(text("ANALYZE"))
    session.commit()
    week = (utcnow() - timedelta(days=30)).date()
    filters = parse_filters({"created": {"from": week.isoformat(), "to": (week + timedelta(days=7)).isoformat()},
                             "status": ["payment-completed"]})
    statement = ORDERS.statement(large.id, list(_SQL), filters, ZoneInfo(large.timezone))
    connection = session.connection()
    sql, params = driver_statement(connection, statement)
    if STACK == "embedded":
        plan: Any = [row[3] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)]
        shown = json.dumps(plan, indent=1)
        print(f"query plan ({STACK}):\n{shown}")
        assert any(step.startswith("SEARCH orders USING INDEX ix_orders_project_created "
                                   "(project_id=? AND created_at>? AND created_at<?)") for step in plan), shown
        assert not any(step.startswith("SCAN orders") for step in plan), shown
    else:
        plan = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + sql, params).scalar_one()[0]["Plan"]
        shown = json.dumps(plan, indent=1)
        print(f"query plan ({STACK}):\n{shown}")
        on_orders = [node for node in _nodes(plan) if node.get("Relation Name") == "orders"
                     or node.get("Index Name") == "ix_orders_project_created"]
        assert any(node.get("Index Name") == "ix_orders_project_created" for node in on_orders), shown
        assert not any(node["Node Type"] == "Seq Scan" for node in on_orders), shown

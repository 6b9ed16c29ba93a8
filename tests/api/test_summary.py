"""The export's control totals on the resource (issue 16, point 2): made by the worker function from the rows
it writes, they equal SQL sums over the project's orders, with or without filters, whichever columns the
file has; null until the export succeeded. Both stacks (CROWDEXPORTS_TEST_STACK=scaleout)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import ColumnElement, distinct, func, select
from sqlalchemy.orm import Session

from crowdexports.api.schemas import ExportOut
from crowdexports.exports.runner import Outcome, RunningExports, run_export
from crowdexports.models import Order, OrderItem, Project, Reward
from crowdexports.runtime import Runtime
from tests.api.conftest import Account
from tests.factories import make_order, make_reward, make_user


def _orders(session: Session, project: Project) -> list[Reward]:
    """Orders of several statuses, with one, several or no items, in two rewards."""
    cheap, dear = make_reward(session, project, price=1005), make_reward(session, project, price=250_000)
    backer = make_user(session)
    plans: list[tuple[str, list[tuple[Reward, int]]]] = [
        ("payment-completed", [(cheap, 1)]), ("payment-completed", [(cheap, 2), (dear, 1)]),
        ("payment-completed", []), ("cancelled", [(dear, 3)]), ("cancelled", []),
        ("payment-reimbursed", [(cheap, 1), (cheap, 4), (dear, 1)]),
    ]
    for status, items in plans:
        order = make_order(session, project, backer, items, status=status)
        order.total += 7  # a tip: the order's total, not its items' sum
    session.commit()
    return [cheap, dear]


def _sql_summary(session: Session, project: Project, *where: ColumnElement[bool]) -> list[dict[str, Any]]:
    """The totals straight from SQL: orders counted and summed once each, item lines counted."""
    matching = (select(Order.id).outerjoin(OrderItem, OrderItem.order_id == Order.id)
                .where(Order.project_id == project.id, *where).distinct().scalar_subquery())
    orders = session.execute(select(Order.status, func.count(), func.sum(Order.total))
                             .where(Order.id.in_(matching)).group_by(Order.status)).all()
    items: dict[str, int] = dict(session.execute(
        select(Order.status, func.count(distinct(OrderItem.id))).join(OrderItem, OrderItem.order_id == Order.id)
        .where(Order.project_id == project.id, *where).group_by(Order.status)).all())
    cent = {"EUR": Decimal("0.01")}[project.currency]
    figures = [(status, count, items.get(status, 0), Decimal(total) * cent) for status, count, total in sorted(orders)]
    return [{"currency": project.currency, "orders": sum(f[1] for f in figures), "items": sum(f[2] for f in figures),
             "total": str(sum((f[3] for f in figures), Decimal("0.00"))),
             "by_status": [{"status": status, "orders": count, "items": lines, "total": str(total)}
                           for status, count, lines, total in figures]}]


def _made(client: TestClient, runtime: Runtime, project: Project, account: Account,
          **body: Any) -> dict[str, Any]:
    response = client.post(f"/v1/projects/{project.id}/exports", headers=account.bearer,
                           json={"type": "orders", "format": "csv", **body})
    assert response.status_code == 201, response.text
    assert response.json()["summary"] is None  # not made yet
    assert run_export(runtime, RunningExports(), response.json()["id"]) is Outcome.SUCCEEDED
    shown = client.get(f"/v1/exports/{response.json()['id']}", headers=account.bearer).json()
    return ExportOut.model_validate(shown).model_dump()


@pytest.mark.parametrize(("format_", "columns"), [
    ("csv", {"order.note": "note"}),  # none of the values the totals read: selected beside the columns
    ("xlsx", None),  # every column: the totals read the columns' own values
    ("csv", {"order.reward.quantity": "q", "order.id": "id"}),
])
def test_the_summary_is_the_sql_sums_of_the_projects_orders(
        client: TestClient, session: Session, runtime: Runtime, alice: Account, project_a: Project,
        format_: str, columns: dict[str, str] | None) -> None:
    _orders(session, project_a)
    shown = _made(client, runtime, project_a, alice, format=format_,
                  **({} if columns is None else {"columns": columns}))
    assert shown["summary"] == _sql_summary(session, project_a)
    assert shown["summary"][0]["orders"] == 6 and shown["summary"][0]["items"] == 7
    listed = client.get(f"/v1/projects/{project_a.id}/exports", headers=alice.bearer).json()["exports"]
    assert listed[0]["summary"] == shown["summary"]


def test_a_filtered_export_sums_what_it_holds(client: TestClient, session: Session, runtime: Runtime,
                                             alice: Account, project_a: Project) -> None:
    cheap, dear = _orders(session, project_a)
    by_status = _made(client, runtime, project_a, alice, filters={"status": ["cancelled", "payment-reimbursed"]})
    assert by_status["summary"] == _sql_summary(session, project_a,
                                                Order.status.in_(["cancelled", "payment-reimbursed"]))
    assert [s["status"] for s in by_status["summary"][0]["by_status"]] == ["cancelled", "payment-reimbursed"]
    by_reward = _made(client, runtime, project_a, alice, filters={"reward_ids": [dear.id]})
    assert by_reward["summary"] == _sql_summary(session, project_a, OrderItem.reward_id == dear.id)
    assert by_reward["summary"][0]["items"] == 3

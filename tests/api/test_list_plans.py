"""A page of the export list costs the same whatever the client sends (issue 6): `limit` is clamped to 20,
`since` is a keyset cursor on the (project_id, created_at) unique index, so a deep page, a huge `since`
or a huge `limit` reads at most 21 index entries (their recipients are read by primary key). The database's
own query plans show it, on SQLite and on PostgreSQL, over 20,000 exports (run with -s to see them)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from crowdexports.exports import listing
from crowdexports.models import Export, Project, User, utcnow
from tests.api.conftest import Account
from tests.conftest import STACK

PROJECTS, PER_PROJECT = 20, 1000


@pytest.fixture
def crowded(session: Session, alice: Account) -> Project:
    """20 projects of alice with 1,000 terminal exports each, among 2,000 users; the first one is returned."""
    session.execute(insert(User), [{"username": f"user{n}", "email": f"user{n}@example.com"} for n in range(2000)])
    projects = [Project(owner_id=alice.user.id, name=f"P{n}", slug=f"p{n}") for n in range(PROJECTS)]
    session.add_all(projects)
    session.flush()
    start = utcnow() - timedelta(days=365)
    rows = [{"project_id": project.id, "user_id": alice.user.id, "type": "orders", "format": "csv",
             "status": "succeeded", "created_at": start + timedelta(seconds=n * 17 + index)}
            for index, project in enumerate(projects) for n in range(PER_PROJECT)]
    session.execute(insert(Export), rows)
    session.commit()
    session.execute(text("ANALYZE"))
    session.commit()
    return projects[0]


def _plan(session: Session, project_id: int, since: Decimal | None) -> Any:
    """The plan of the very statement a page runs (`listing.page_statement`, run by `list_page`)."""
    query = listing.page_statement(since is not None)
    values: dict[str, Any] = {"project_id": project_id}
    if since is not None:
        values["since"] = listing._instant(since)
    sql = str(query.params(**values).compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
    if STACK == "embedded":
        return [row[3] for row in session.execute(text("EXPLAIN QUERY PLAN " + sql))]
    return session.execute(text("EXPLAIN (FORMAT JSON) " + sql)).scalar_one()[0]["Plan"]


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(node for child in plan.get("Plans", []) for node in _nodes(child))]


@pytest.mark.parametrize("page", ["first", "middle", "huge-since", "before-everything"])
def test_every_page_is_an_index_range_read_without_a_sort(session: Session, crowded: Project, page: str) -> None:
    middle = session.scalars(select(Export.created_at).where(Export.project_id == crowded.id)
                             .order_by(Export.created_at).offset(PER_PROJECT // 2).limit(1)).one()
    since = {"first": None, "middle": Decimal(listing._seconds(middle)),
             "huge-since": Decimal("253402300798.999999"), "before-everything": Decimal("1")}[page]
    plan = _plan(session, crowded.id, since)
    shown = json.dumps(plan, indent=1)
    print(f"query plan ({STACK}, since={since}):\n{shown}")
    if STACK == "embedded":
        # One step for the page: no temp b-tree for the ORDER BY, no scan of the table; then `retried_by`,
        # one probe of the retry_of index per export of the page, and the project's time zone, one primary
        # key probe.
        step, *subqueries = plan
        assert step.startswith("SEARCH exports USING INDEX"), shown
        assert "(project_id=? AND created_at<?)" in step or (page == "first" and "(project_id=?)" in step), shown
        assert subqueries == ["CORRELATED SCALAR SUBQUERY 1",
                              "SEARCH retries USING COVERING INDEX ix_exports_retry_of (retry_of=?)",
                              "CORRELATED SCALAR SUBQUERY 2",
                              "SEARCH projects USING INTEGER PRIMARY KEY (rowid=?)"], shown
    else:
        nodes = _nodes(plan)
        assert "Sort" not in [node["Node Type"] for node in nodes], shown
        on_exports = [node for node in nodes if node.get("Alias") == "exports"]
        assert [(node["Node Type"], node["Index Name"], node["Scan Direction"]) for node in on_exports] == [
            ("Index Scan", "uq_exports_project_created", "Backward")], shown
        on_retries = {(node["Node Type"], node["Index Name"]) for node in nodes if node.get("Alias") == "retries"}
        assert on_retries and on_retries <= {("Index Scan", "ix_exports_retry_of"),
                                             ("Index Only Scan", "ix_exports_retry_of")}, shown
        assert nodes[0]["Node Type"] == "Limit" and nodes[0]["Plan Rows"] <= listing.MAX_LIMIT + 1, shown


@pytest.mark.parametrize("query", ["limit=99999999999999999999999999", "limit=20&since=253402300798.999999",
                                   "limit=000000000000000000000000000000000000000020"])
def test_huge_values_give_a_normal_page(client: TestClient, alice: Account, crowded: Project, query: str) -> None:
    answer = client.get(f"/v1/projects/{crowded.id}/exports?{query}", headers=alice.apikey)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert len(body["exports"]) == listing.MAX_LIMIT and body["meta"]["limit"] == listing.MAX_LIMIT


@pytest.mark.parametrize("query", ["since=1e308", "since=-1", "since=253402300800", "limit=-5", "limit=1e9",
                                   "since=" + "9" * 5000, "limit=" + "9" * 5000 + "x"])
def test_absurd_values_are_400_not_work(client: TestClient, alice: Account, crowded: Project, query: str) -> None:
    answer = client.get(f"/v1/projects/{crowded.id}/exports?{query}", headers=alice.apikey)
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["classification"] == "ValueError"

"""`layout` on POST /v1/projects/{id}/exports (issue 16): items (the default), orders or items_repeated.
Stored as the orders type's option, shown on the resource (an export stored before layouts shows
items_repeated, what its file has), refused with a 400 on `layout` when wrong, kept by presets, retries
and idempotent replays, and obeyed by the worker: read back from the downloaded file."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from crowdexports.api.schemas import ExportOut
from crowdexports.exports import lifecycle
from crowdexports.exports.runner import Outcome, RunningExports, run_export
from crowdexports.models import Export, Project
from crowdexports.runtime import Runtime
from tests.api.conftest import Account, request_export
from tests.factories import make_order, make_reward
from tests.servers.s3 import fetch

LAYOUTS = "must be one of: items, orders, items_repeated"
COLUMNS = {"order.id": "Order", "order.reward.id": "Rewards", "order.reward.quantity": "Quantity",
           "order.reward.total": "Reward total", "order.total": "Total"}


def _post(client: TestClient, project: Project, account: Account, body: dict[str, object],
          headers: dict[str, str] | None = None) -> httpx.Response:
    return client.post(f"/v1/projects/{project.id}/exports", json={"type": "orders", "format": "csv", **body},
                       headers=account.bearer | (headers or {}))


def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    ExportOut.model_validate(response.json())
    created: dict[str, Any] = response.json()
    return created


@pytest.mark.parametrize(("body", "shown"), [
    ({}, "items"), ({"layout": None}, "items"), ({"layout": "items"}, "items"),
    ({"layout": "orders"}, "orders"), ({"layout": "items_repeated"}, "items_repeated"),
])
def test_the_layout_is_stored_and_shown(client: TestClient, session: Session, project_a: Project, alice: Account,
                                        body: dict[str, object], shown: str) -> None:
    created = _created(_post(client, project_a, alice, body))
    assert created["layout"] == shown
    assert (session.get_one(Export, created["id"]).options or {})["type"]["layout"] == shown
    assert client.get(f"/v1/exports/{created['id']}", headers=alice.bearer).json()["layout"] == shown
    listed = client.get(f"/v1/projects/{project_a.id}/exports", headers=alice.bearer).json()["exports"]
    assert [export["layout"] for export in listed] == [shown]


def test_an_export_stored_before_layouts_shows_items_repeated(client: TestClient, session: Session,
                                                              project_a: Project, alice: Account) -> None:
    """Its file has the order's amounts on every row: that is what it shows, and what a retry makes."""
    export = request_export(session, project_a, alice.user)
    before: tuple[dict[str, Any] | None, ...] = (None, {"format": {}, "type": {"filters": {}}})
    for options in before:
        session.execute(update(Export).where(Export.id == export.id).values(options=options))
        session.commit()
        assert client.get(f"/v1/exports/{export.id}", headers=alice.bearer).json()["layout"] == "items_repeated"
    lifecycle.cancel(session, export, by_user_id=alice.user.id)
    retried = client.post(f"/v1/exports/{export.id}/retry", headers=alice.bearer)
    assert retried.status_code == 201 and retried.json()["layout"] == "items_repeated"


BAD = [
    ("unknown", "rows", "ValueError", LAYOUTS),
    ("wrong case", "ORDERS", "ValueError", LAYOUTS),
    ("empty", "", "ValueError", LAYOUTS),
    ("number", 1, "TypeError", "must be a string"),
    ("list", ["orders"], "TypeError", "must be a string"),
    ("boolean", True, "TypeError", "must be a string"),
]


@pytest.mark.parametrize(("value", "classification", "message"), [case[1:] for case in BAD],
                         ids=[case[0] for case in BAD])
def test_a_bad_layout_is_400_on_layout(client: TestClient, session: Session, project_a: Project, alice: Account,
                                       dispatched: list[int], value: object, classification: str,
                                       message: str) -> None:
    response = _post(client, project_a, alice, {"layout": value})
    assert response.status_code == 400, response.text
    assert response.json() == {"errors": [{"classification": classification, "fieldNames": ["layout"],
                                           "message": message}]}
    assert session.scalar(select(func.count()).select_from(Export)) == 0 and dispatched == []


def test_a_bad_layout_and_bad_filters_are_refused_at_once(client: TestClient, project_a: Project,
                                                          alice: Account) -> None:
    response = _post(client, project_a, alice, {"layout": "rows", "filters": {"status": ["paid"]}})
    assert response.status_code == 400
    assert [error["fieldNames"] for error in response.json()["errors"]] == [["filters", "status"], ["layout"]]


def test_the_unit_price_is_refused_one_row_per_order(client: TestClient, session: Session, project_a: Project,
                                                    alice: Account) -> None:
    response = _post(client, project_a, alice, {"layout": "orders",
                                                "columns": {"order.id": "Id", "order.reward.price": "Price"}})
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["fieldNames"] == ["columns", "order.reward.price"] and "no single value" in error["message"]
    assert session.scalar(select(func.count()).select_from(Export)) == 0
    # The default columns of that layout leave it out; the other layouts keep it.
    default = _created(_post(client, project_a, alice, {"layout": "orders"}))
    assert "order.reward.price" not in default["columns"] and "order.reward.title" in default["columns"]
    assert "order.reward.price" in _created(_post(client, project_a, alice, {}))["columns"]


def test_a_preset_keeps_its_layout_and_a_request_overrides_it(client: TestClient, project_a: Project,
                                                              alice: Account) -> None:
    preset = client.post(f"/v1/projects/{project_a.id}/export-presets", headers=alice.bearer,
                         json={"name": "Per order", "settings": {"type": "orders", "format": "csv",
                                                                 "layout": "orders"}})
    assert preset.status_code == 201, preset.text
    assert preset.json()["settings"]["layout"] == "orders"
    assert _created(_post(client, project_a, alice, {"preset": preset.json()["id"]}))["layout"] == "orders"
    overridden = _post(client, project_a, alice, {"preset": preset.json()["id"], "layout": "items_repeated"})
    assert _created(overridden)["layout"] == "items_repeated"
    # null asks for the default, as for every field a request overrides
    with_null = _post(client, project_a, alice, {"preset": preset.json()["id"], "layout": None})
    assert _created(with_null)["layout"] == "items"
    bad = client.post(f"/v1/projects/{project_a.id}/export-presets", headers=alice.bearer,
                      json={"name": "Bad", "settings": {"type": "orders", "format": "csv", "layout": "rows"}})
    assert bad.status_code == 400 and bad.json()["errors"][0]["fieldNames"] == ["settings", "layout"]


def test_a_retry_keeps_the_layout(client: TestClient, session: Session, project_a: Project, alice: Account) -> None:
    created = _created(_post(client, project_a, alice, {"layout": "orders"}))
    old = session.get_one(Export, created["id"])
    lifecycle.cancel(session, old, by_user_id=alice.user.id)
    retried = client.post(f"/v1/exports/{old.id}/retry", headers=alice.bearer)
    assert retried.status_code == 201, retried.text
    assert retried.json()["layout"] == "orders" and retried.json()["columns"] == created["columns"]


def test_an_idempotent_replay_needs_the_same_layout(client: TestClient, project_a: Project, alice: Account) -> None:
    key = {"Idempotency-Key": "layout-key-1"}
    first = _created(_post(client, project_a, alice, {"layout": "orders"}, key))
    replay = _post(client, project_a, alice, {"layout": "orders"}, key)
    assert replay.status_code == 200 and replay.json()["id"] == first["id"]
    assert _post(client, project_a, alice, {"layout": "items"}, key).status_code == 422


def _file(client: TestClient, runtime: Runtime, project: Project, account: Account, layout: str,
          filters: dict[str, Any] | None = None) -> list[list[str]]:
    created = _created(_post(client, project, account, {"layout": layout, "columns": COLUMNS, "filters": filters}))
    assert run_export(runtime, RunningExports(), created["id"]) is Outcome.SUCCEEDED
    shown = client.get(f"/v1/exports/{created['id']}", headers=account.bearer).json()
    download = fetch(client, str(shown["url"]).removeprefix("http://testserver"))
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert shown["row_count"] == len(rows) - 1
    return rows[1:]


def test_the_worker_writes_each_layout(client: TestClient, session: Session, runtime: Runtime,
                                       project_a: Project, alice: Account) -> None:
    first, second = make_reward(session, project_a, price=1000), make_reward(session, project_a, price=250)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    two = make_order(session, project_a, alice.user, [(first, 1), (second, 2)], created_at=start)
    none = make_order(session, project_a, alice.user, [], created_at=start + timedelta(hours=1))
    total_two, total_none = f"{two.total / 100:.2f}", f"{none.total / 100:.2f}"
    assert _file(client, runtime, project_a, alice, "items") == [
        [str(two.id), str(first.id), "1", "10.00", total_two], [str(two.id), str(second.id), "2", "5.00", ""],
        [str(none.id), "", "", "", total_none]]
    assert _file(client, runtime, project_a, alice, "items_repeated") == [
        [str(two.id), str(first.id), "1", "10.00", total_two], [str(two.id), str(second.id), "2", "5.00", total_two],
        [str(none.id), "", "", "", total_none]]
    assert _file(client, runtime, project_a, alice, "orders") == [
        [str(two.id), f"{first.id}, {second.id}", "3", "15.00", total_two], [str(none.id), "", "", "", total_none]]
    # With a reward filter, the order's first row in the file carries its amounts.
    assert _file(client, runtime, project_a, alice, "items", {"reward_ids": [second.id]}) == [
        [str(two.id), str(second.id), "2", "5.00", total_two]]
    assert _file(client, runtime, project_a, alice, "orders", {"reward_ids": [second.id]}) == [
        [str(two.id), str(second.id), "2", "5.00", total_two]]

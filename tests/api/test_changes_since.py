"""`changes_since` on POST /v1/projects/{id}/exports (issue 16.5): only the orders created or changed since
an earlier export. Real imports (over HTTP, or the import function in a thread) interleaved with real
exports (the worker function), read back from the downloaded files:
- a chain of incremental exports holds every change once: nothing missed, nothing repeated, and an
  unchanged re-import moves nothing;
- an import committing after an export read its marker, even before it read its rows, is in the next
  incremental export and not in that one (threads force the interleaving);
- a bad value is a 400 on `changes_since`; another project's export is refused as one that does not exist.
"""

from __future__ import annotations

import csv
import io
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from crowdexports.api.schemas import ExportOut
from crowdexports.exports import pipeline
from crowdexports.exports.runner import Outcome, RunningExports, run_export
from crowdexports.models import Project
from crowdexports.runtime import Runtime
from crowdexports.sync import changes, jsonlines
from crowdexports.sync.orders.importer import import_orders
from tests.api.conftest import Account
from tests.api.order_lines import answer, item, ndjson, order, post_import
from tests.factories import make_reward
from tests.servers.s3 import fetch

COLUMNS = {"order.id": "id", "order.note": "note", "order.reward.quantity": "quantity"}
Rows = set[tuple[int, str, str]]


def _export(client: TestClient, runtime: Runtime, project: Project, account: Account,
            changes_since: object = None) -> tuple[dict[str, Any], Rows]:
    """An export asked for over the API, made by the worker function; the resource and the file's rows."""
    body = {"format": "csv", "type": "orders", "columns": COLUMNS,
            **({} if changes_since is None else {"changes_since": changes_since})}
    response = client.post(f"/v1/projects/{project.id}/exports", json=body, headers=account.bearer)
    assert response.status_code == 201, response.text
    ExportOut.model_validate(response.json())
    assert run_export(runtime, RunningExports(), response.json()["id"]) is Outcome.SUCCEEDED
    shown = client.get(f"/v1/exports/{response.json()['id']}", headers=account.bearer).json()
    download = fetch(client, str(shown["url"]).removeprefix("http://testserver"))
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))[1:]
    return shown, {(int(order_id), note, quantity) for order_id, note, quantity in rows}


def _lines(reward_id: int, user_id: int, orders: dict[int, tuple[str, int]]) -> bytes:
    """One line per order: its note and its one item's quantity."""
    return ndjson(*(order(order_id, user_id=user_id, note=note, items=[item(reward_id, quantity=quantity)])
                    for order_id, (note, quantity) in orders.items()))


def _rows(orders: dict[int, tuple[str, int]]) -> Rows:
    return {(order_id, note, str(quantity)) for order_id, (note, quantity) in orders.items()}


def test_a_chain_of_incremental_exports_holds_each_change_once(
        client: TestClient, session: Session, runtime: Runtime, staff: Account, alice: Account,
        project_a: Project) -> None:
    """Each step imports new orders, orders with a changed value, orders with a changed item only, and
    orders sent again as they are (unchanged: not in the next export)."""
    reward_id = make_reward(session, project_a).id
    state = dict.fromkeys(range(1, 21), ("first", 1))
    assert answer(post_import(client, staff, project_a.id, _lines(reward_id, staff.user.id, state)))
    full, rows = _export(client, runtime, project_a, alice, "last")  # no earlier export: every order
    assert full["changes_since"] is None and rows == _rows(state)
    chain, chain_ids = [rows], [full["id"]]
    for step in range(1, 4):
        new = {100 * step + n: (f"new {step}", 1) for n in range(3)}
        changed = {step: (f"changed {step}", state[step][1])}
        items_only = {step + 5: (state[step + 5][0], state[step + 5][1] + 1)}
        unchanged = {order_id: state[order_id] for order_id in (10 + step, 15 + step)}
        result = answer(post_import(client, staff, project_a.id, _lines(
            reward_id, staff.user.id, {**new, **changed, **items_only, **unchanged})))
        assert result["orders"] == {"created": 3, "updated": 2, "unchanged": 2}
        state |= new | changed | items_only
        since = "last" if step % 2 else chain_ids[-1]
        shown, rows = _export(client, runtime, project_a, alice, since)
        assert rows == _rows(new | changed | items_only), step
        assert shown["changes_since"] == chain_ids[-1]
        chain.append(rows)
        chain_ids.append(shown["id"])
    # Nothing missed: each order's last appearance is its state now; nothing repeated: one row per change.
    latest: dict[int, tuple[str, str]] = {}
    for rows in chain:
        latest |= {order_id: (note, quantity) for order_id, note, quantity in rows}
    assert {(order_id, *values) for order_id, values in latest.items()} == {
        (order_id, note, str(quantity)) for order_id, (note, quantity) in state.items()}
    assert sum(len(rows) for rows in chain) == 20 + 3 * 5
    _, rows = _export(client, runtime, project_a, alice, "last")
    assert rows == set(), "no import since: an empty incremental export"


def _import_held_before_commit(sessions: sessionmaker[Session], project: Project, body: bytes,
                               written: threading.Event, go: threading.Event) -> tuple[threading.Thread, list[Any]]:
    """The import function in a thread, its transaction written (its change number taken) but held
    before its commit until `go`; the thread and what it raised."""
    failure: list[Any] = []

    def run() -> None:
        try:
            with sessions() as piece:
                real_commit = piece.commit

                def held_commit() -> None:
                    written.set()
                    assert go.wait(30), "never let go"
                    real_commit()

                piece.commit = held_commit  # type: ignore[method-assign]
                import_orders(piece, piece.get_one(Project, project.id),
                              list(jsonlines.numbered_lines(io.BytesIO(body))))
        except BaseException as exc:  # re-raised in the test's thread
            failure.append(exc)
            written.set()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, failure


@pytest.mark.parametrize("when", ["before its rows are read", "after its rows are read"])
def test_an_import_committing_during_an_export_is_in_the_next_one_only(
        client: TestClient, session: Session, session_factory: sessionmaker[Session], runtime: Runtime,
        staff: Account, alice: Account, project_a: Project, monkeypatch: pytest.MonkeyPatch, when: str) -> None:
    """The import takes its change number and writes while the export is claimed and about to read its
    marker; it commits after the marker is read: before the rows are read, or after (before the file is
    published). Either way this export leaves it out whole and the next one holds it."""
    reward_id = make_reward(session, project_a).id
    first = dict.fromkeys(range(1, 6), ("first", 1))
    assert answer(post_import(client, staff, project_a.id, _lines(reward_id, staff.user.id, first)))
    _, rows = _export(client, runtime, project_a, alice)
    assert rows == _rows(first)
    late = {3: ("late change", 1), 50: ("late new", 2)}
    written, go = threading.Event(), threading.Event()
    held: list[tuple[threading.Thread, list[Any]]] = []
    real_last_change, real_publish = changes.last_change, pipeline.publish

    def let_go() -> None:
        go.set()
        held[0][0].join()

    def marker_during_import(reading: Session, project_id: int) -> int:
        held.append(_import_held_before_commit(session_factory, project_a,
                                               _lines(reward_id, staff.user.id, late), written, go))
        assert written.wait(30) and not held[0][1]
        marker = real_last_change(reading, project_id)
        if when == "before its rows are read":
            let_go()
        return marker

    def publish_after_commit(*args: Any) -> Any:
        let_go()
        return real_publish(*args)

    monkeypatch.setattr(pipeline, "last_change", marker_during_import)
    monkeypatch.setattr(pipeline, "publish", publish_after_commit)
    shown, rows = _export(client, runtime, project_a, alice, "last")
    monkeypatch.undo()
    assert held and not held[0][1] and go.is_set()
    assert rows == set(), "an import not committed at the marker is not in this export"
    after, rows = _export(client, runtime, project_a, alice, "last")
    assert after["changes_since"] == shown["id"]
    assert rows == _rows(late), "the import committed after the marker is in the next export, once"
    _, rows = _export(client, runtime, project_a, alice, "last")
    assert rows == set()


@pytest.mark.parametrize(("value", "classification"), [
    ("first", "ValueError"), ("", "ValueError"), (0, "ValueError"), (-3, "ValueError"), (2**63, "ValueError"),
    (True, "TypeError"), (1.5, "TypeError"), (["last"], "TypeError"), ({"id": 1}, "TypeError"),
    (999999, "ValueError"),  # no such export
])
def test_a_bad_changes_since_is_a_400_naming_it(client: TestClient, alice: Account, project_a: Project,
                                               value: object, classification: str) -> None:
    response = client.post(f"/v1/projects/{project_a.id}/exports", headers=alice.bearer,
                           json={"format": "csv", "type": "orders", "changes_since": value})
    assert response.status_code == 400, response.text
    assert [(error["fieldNames"], error["classification"]) for error in response.json()["errors"]] == [
        (["changes_since"], classification)]


def test_another_projects_export_or_an_unfinished_one_is_refused_alike(
        client: TestClient, runtime: Runtime, alice: Account, bob: Account, project_a: Project,
        project_b: Project) -> None:
    bobs, _ = _export(client, runtime, project_b, bob)
    waiting = client.post(f"/v1/projects/{project_a.id}/exports", headers=alice.bearer,
                          json={"format": "csv", "type": "orders"}).json()
    answers = [client.post(f"/v1/projects/{project_a.id}/exports", headers=alice.bearer,
                           json={"format": "csv", "type": "orders", "changes_since": export_id})
               for export_id in (bobs["id"], waiting["id"], 999999)]
    assert [response.status_code for response in answers] == [400] * 3
    bodies = [response.json()["errors"] for response in answers]
    assert bodies[0] == bodies[1] == bodies[2]
    assert bodies[0][0]["fieldNames"] == ["changes_since"] and str(bobs["id"]) not in str(bodies[0])


def test_a_retry_keeps_the_export_it_follows(client: TestClient, runtime: Runtime, alice: Account,
                                             project_a: Project) -> None:
    base, _ = _export(client, runtime, project_a, alice)
    asked = client.post(f"/v1/projects/{project_a.id}/exports", headers=alice.bearer,
                        json={"format": "csv", "type": "orders", "changes_since": "last"}).json()
    assert client.post(f"/v1/exports/{asked['id']}/cancel", headers=alice.bearer).status_code == 200
    _export(client, runtime, project_a, alice)  # a later succeeded export: "last" would now name it
    retried = client.post(f"/v1/exports/{asked['id']}/retry", headers=alice.bearer)
    assert retried.status_code == 201, retried.text
    assert retried.json()["changes_since"] == asked["changes_since"] == base["id"]

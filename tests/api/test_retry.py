"""POST /v1/exports/{id}/retry (issue 15): the project's owner makes a new export with the settings of a
failed or canceled one; the two name each other (`retry_of`, `retried_by`), on every read of the resource."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crowdexports.api.schemas import ExportOut
from crowdexports.exports import lifecycle
from crowdexports.models import Export, Project
from crowdexports.runtime import Runtime
from tests.api.conftest import Account, request_export, succeeded_export

COLUMNS = {"order.id": "Order", "user.email": "Email"}
EXCEL_EU = {"format": {"dialect": "excel_eu"}, "type": {"filters": {}}}


def retry(client: TestClient, export: Export, account: Account) -> httpx.Response:
    return client.post(f"/v1/exports/{export.id}/retry", headers=account.bearer)


def failed_export(session: Session, project: Project, account: Account,
                  columns: dict[str, str] | None = None) -> Export:
    export = lifecycle.request(session, project=project, user=account.user, type_="orders", format_="csv",
                               columns=COLUMNS if columns is None else columns, options=EXCEL_EU)
    claim = lifecycle.claim(session, export.id, worker="w", lease_seconds=30, max_attempts=3)
    assert claim is not None and lifecycle.fail(session, claim, "boom")
    return export


def test_a_failed_export_is_made_again_with_its_settings(client: TestClient, session: Session,
                                                         project_a: Project, alice: Account,
                                                         dispatched: list[int]) -> None:
    old = failed_export(session, project_a, alice)
    response = retry(client, old, alice)
    assert response.status_code == 201, response.text
    new = response.json()
    ExportOut.model_validate(new)
    assert response.headers["Location"] == f"/v1/exports/{new['id']}" and dispatched == [new["id"]]
    assert (new["status"], new["type"], new["format"], new["csv_dialect"], new["columns"]) == (
        "waiting", "orders", "csv", "excel_eu", COLUMNS)
    assert (new["retry_of"], new["retried_by"]) == (old.id, None)
    shown = client.get(f"/v1/exports/{old.id}", headers=alice.bearer).json()
    assert (shown["retry_of"], shown["retried_by"]) == (None, new["id"])
    listed = {e["id"]: e for e in client.get(f"/v1/projects/{project_a.id}/exports", headers=alice.bearer).json()[
        "exports"]}
    assert (listed[old.id]["retried_by"], listed[new["id"]]["retry_of"]) == (new["id"], old.id)
    assert client.get(f"/v1/exports/{new['id']}", headers=alice.bearer).json()["retry_of"] == old.id


def test_a_canceled_export_is_retried_and_names_its_latest_retry(client: TestClient, session: Session,
                                                                 project_a: Project, alice: Account) -> None:
    old = request_export(session, project_a, alice.user)
    lifecycle.cancel(session, old, by_user_id=alice.user.id)
    first = retry(client, old, alice).json()
    assert first["columns"] == client.get(f"/v1/exports/{old.id}", headers=alice.bearer).json()["columns"]
    assert client.post(f"/v1/exports/{first['id']}/cancel", headers=alice.bearer).status_code == 200
    second = retry(client, old, alice).json()
    assert client.get(f"/v1/exports/{old.id}", headers=alice.bearer).json()["retried_by"] == second["id"]
    assert session.get_one(Export, second["id"]).columns is None  # the defaults stay defaults


@pytest.mark.parametrize("state", ["waiting", "processing", "succeeded"])
def test_an_export_that_did_not_fail_is_409(client: TestClient, session: Session, runtime: Runtime,
                                            project_a: Project, alice: Account, state: str) -> None:
    if state == "succeeded":
        export = succeeded_export(session, runtime, project_a, alice.user)
    else:
        export = request_export(session, project_a, alice.user)
        if state == "processing":
            assert lifecycle.claim(session, export.id, worker="w", lease_seconds=30, max_attempts=3)
    response = retry(client, export, alice)
    assert response.status_code == 409
    assert response.json()["errors"][0]["classification"] == "ConflictError"


def test_a_column_gone_from_the_catalogue_is_400_saying_so(client: TestClient, session: Session,
                                                          project_a: Project, alice: Account) -> None:
    old = failed_export(session, project_a, alice, columns={"order.id": "Order", "order.gone": "Gone"})
    response = retry(client, old, alice)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["fieldNames"] == ["columns", "order.gone"]
    assert error["message"] == f"export {old.id} cannot be made again as it was: unknown column"


def test_a_retry_obeys_the_cap(client: TestClient, session: Session, runtime: Runtime, project_a: Project,
                               alice: Account) -> None:
    old = failed_export(session, project_a, alice)
    for _ in range(runtime.settings.max_active_exports_per_project):
        request_export(session, project_a, alice.user)
    response = retry(client, old, alice)
    assert response.status_code == 429 and "Retry-After" in response.headers


def test_only_the_owner_retries(client: TestClient, session: Session, project_a: Project, alice: Account,
                                bob: Account, staff: Account) -> None:
    """Others get 404 (the export's existence is private), staff 403 (a retry goes to whoever asks, as a
    new export does), and a read-only credential 403."""
    old = failed_export(session, project_a, alice)
    assert retry(client, old, bob).status_code == 404
    assert retry(client, old, staff).status_code == 403
    assert client.post(f"/v1/exports/{old.id}/retry", headers=alice.apikey).status_code == 403
    for bad in ("abc", "0", "99999999999999999999"):
        assert client.post(f"/v1/exports/{bad}/retry", headers=alice.bearer).status_code == 404

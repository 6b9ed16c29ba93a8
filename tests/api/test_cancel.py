"""POST /v1/exports/{id}/cancel: the project's owner or staff, from waiting or processing; terminal states are 409."""

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


def cancel(client: TestClient, export: Export, account: Account) -> httpx.Response:
    return client.post(f"/v1/exports/{export.id}/cancel", headers=account.bearer)


def test_staff_cancels_a_waiting_export(client: TestClient, session: Session, project_a: Project,
                                        alice: Account, staff: Account) -> None:
    export = request_export(session, project_a, alice.user)
    response = cancel(client, export, staff)
    assert response.status_code == 200
    body = response.json()
    ExportOut.model_validate(body)
    assert (body["id"], body["status"], body["url"]) == (export.id, "canceled", None)
    assert body["finished_at"] is not None and "email" not in body["user"]
    session.refresh(export)
    assert export.status == "canceled"
    assert lifecycle.claim(session, export.id, worker="late", lease_seconds=30, max_attempts=3) is None


def test_staff_cancels_a_running_export(client: TestClient, session: Session, project_a: Project,
                                        alice: Account, staff: Account) -> None:
    export = request_export(session, project_a, alice.user)
    claim = lifecycle.claim(session, export.id, worker="w", lease_seconds=30, max_attempts=3)
    assert claim is not None
    progress = client.get(f"/v1/exports/{export.id}", headers=alice.bearer).json()["progress"]
    assert progress == {"rows_done": 0, "rows_estimated": None}
    assert cancel(client, export, staff).json()["status"] == "canceled"
    assert not lifecycle.renew(session, claim, lease_seconds=30, rows_done=10,
                               rows_estimated=20)  # the worker is told to stop


@pytest.mark.parametrize("end", ["succeeded", "failed", "canceled"])
def test_a_terminal_export_is_409(client: TestClient, session: Session, runtime: Runtime, project_a: Project,
                                  alice: Account, staff: Account, end: str) -> None:
    if end == "succeeded":
        export = succeeded_export(session, runtime, project_a, alice.user)
    else:
        export = request_export(session, project_a, alice.user)
        claim = lifecycle.claim(session, export.id, worker="w", lease_seconds=30, max_attempts=3)
        assert claim is not None
        if end == "failed":
            lifecycle.fail(session, claim, "boom")
        else:
            lifecycle.cancel(session, export, by_user_id=staff.user.id)
    response = cancel(client, export, staff)
    assert response.status_code == 409
    assert response.json()["errors"][0]["classification"] == "ConflictError"
    session.refresh(export)
    assert export.status == end


def test_the_owner_cancels_their_own_export(client: TestClient, session: Session, project_a: Project,
                                             alice: Account) -> None:
    export = request_export(session, project_a, alice.user)
    claim = lifecycle.claim(session, export.id, worker="w", lease_seconds=30, max_attempts=3)
    assert claim is not None
    response = cancel(client, export, alice)
    assert response.status_code == 200
    body = response.json()
    ExportOut.model_validate(body)
    assert (body["status"], body["user"]["email"]) == ("canceled", "alice@example.com")
    assert not lifecycle.renew(session, claim, lease_seconds=30, rows_done=1, rows_estimated=2)


def test_others_get_404_and_read_only_credentials_403(client: TestClient, session: Session, project_a: Project,
                                                      alice: Account, bob: Account) -> None:
    export = request_export(session, project_a, alice.user)
    assert cancel(client, export, bob).status_code == 404
    assert client.post(f"/v1/exports/{export.id}/cancel", headers=alice.apikey).status_code == 403
    for bad in ("abc", "0", "99999999999999999999"):
        assert client.post(f"/v1/exports/{bad}/cancel", headers=alice.bearer).status_code == 404
    session.refresh(export)
    assert export.status == "waiting"

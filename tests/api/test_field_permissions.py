"""PermissionError (SPEC §2): a body that sets a field its caller may not set is refused with that field's
name, never silently ignored; a field that is no field at all stays UnknownFieldError (issue 12, point 16).

- an imported order's embedded user may not set `is_staff` nor `password` (an import gives no access);
- a PUT body may not set its resource's read-only fields (`id`, a user's `has_password`, a reward's
  `currency`);
- an export request may not set the fields the service sets (`status`, `url`, `user`, ...).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from crowdexports.api.schemas import ExportCreate, ExportOut
from crowdexports.models import Project
from tests.api.conftest import Account
from tests.api.order_lines import ndjson, order, post_import, user
from tests.api.syncing import problems, project_body, put, reward_body, snapshot, user_body

USER_ID, PROJECT_ID = 501, 7001
SET_BY_THE_SERVICE = ("id", "project_id", "status", "created_at", "url", "user", "row_count", "size", "sha256",
                      "summary", "started_at", "finished_at", "expires_at", "error", "progress", "email_status",
                      "retry_of", "retried_by")


@pytest.mark.parametrize(("field", "value"), [("is_staff", True), ("is_staff", False), ("password", "s3cret-pass")])
def test_an_imported_user_may_not_set_its_access(client: TestClient, staff: Account, project_a: Project,
                                                 session_factory: sessionmaker[Session], field: str,
                                                 value: object) -> None:
    before = snapshot(session_factory)
    response = post_import(client, staff, project_a.id, ndjson(order(1), order(2, user=user(5005, **{field: value}))))
    assert response.status_code == 400, response.text
    assert problems(response) == [("PermissionError", ["line 2", "user", field])]
    assert "PUT /v1/users/5005" in response.json()["errors"][0]["message"]
    assert snapshot(session_factory) == before


def test_null_access_fields_in_an_imported_user_are_absent(client: TestClient, staff: Account,
                                                           project_a: Project) -> None:
    response = post_import(client, staff, project_a.id, ndjson(order(1, user=user(5005, is_staff=None,
                                                                                  password=None))))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(("kind", "field", "value"), [
    ("users", "id", USER_ID), ("users", "has_password", True), ("projects", "id", PROJECT_ID),
    ("rewards", "id", 9001), ("rewards", "currency", "EUR"),
])
def test_a_put_may_not_set_a_read_only_field(client: TestClient, staff: Account,
                                             session_factory: sessionmaker[Session], kind: str, field: str,
                                             value: object) -> None:
    assert put(client, staff, "users", USER_ID, user_body()).status_code == 201
    assert put(client, staff, "projects", PROJECT_ID, project_body(USER_ID)).status_code == 201
    body = {"users": user_body(), "projects": project_body(USER_ID), "rewards": reward_body(PROJECT_ID)}[kind]
    before = snapshot(session_factory)
    response = put(client, staff, kind, {"users": USER_ID, "projects": PROJECT_ID, "rewards": 9001}[kind],
                   {**body, field: value, "colour": "red"})
    assert response.status_code == 400, response.text
    assert sorted(problems(response)) == [("PermissionError", [field]), ("UnknownFieldError", ["colour"])]
    assert snapshot(session_factory) == before


def test_every_field_of_the_resource_but_the_requests_is_set_by_the_service() -> None:
    assert set(SET_BY_THE_SERVICE) == set(ExportOut.model_fields) - set(ExportCreate.model_fields)


@pytest.mark.parametrize("field", SET_BY_THE_SERVICE)
def test_an_export_request_may_not_set_what_the_service_sets(client: TestClient, alice: Account,
                                                             project_a: Project, field: str) -> None:
    response = client.post(f"/v1/projects/{project_a.id}/exports", headers=alice.bearer,
                           json={"format": "csv", "type": "orders", field: None, "colour": "red"})
    assert response.status_code == 400, response.text
    assert sorted(problems(response)) == [("PermissionError", [field]), ("UnknownFieldError", ["colour"])]

"""A NUL character (JSON's "\\u0000") in any text of a body is a 400 ValueError naming its field, on both
stacks: PostgreSQL's texts cannot hold one, and it would reach a query as a 500 (issue 12, point 8's
bodies). Sync PUT bodies, order import lines and export requests; nothing is written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from crowdexports.models import Project
from tests.api.conftest import Account
from tests.api.order_lines import ndjson, order, post_import, user
from tests.api.syncing import project_body, put, reward_body, snapshot, user_body

NUL = "a\x00b"
USER_ID, PROJECT_ID = 501, 7001


def _value_errors(response: Any) -> list[list[str]]:
    assert response.status_code == 400, response.text
    return [error["fieldNames"] for error in response.json()["errors"] if error["classification"] == "ValueError"]


@pytest.mark.parametrize(("kind", "changes", "field_names"), [
    ("users", {"username": NUL}, ["username"]),
    ("users", {"email": "zo\x00e@example.com"}, ["email"]),
    ("users", {"first_name": NUL}, ["first_name"]),
    ("users", {"last_name": NUL}, ["last_name"]),
    ("users", {"name": NUL}, ["name"]),
    ("users", {"lang": "f\x00r"}, ["lang"]),
    ("users", {"password": "s3cret\x00pass"}, ["password"]),
    ("projects", {"name": NUL}, ["name"]),
    ("projects", {"slug": NUL}, ["slug"]),
    ("projects", {"currency": "E\x00R"}, ["currency"]),
    ("projects", {"timezone": "Europe/Paris\x00"}, ["timezone"]),
    ("projects", {"lang": "f\x00"}, ["lang"]),
    ("rewards", {"title": {"en": NUL}}, ["title", "en"]),
    ("rewards", {"title": {"e\x00n": "Early bird"}}, ["title", "e\x00n"]),
    ("rewards", {"description": {"fr": NUL}}, ["description", "fr"]),
    ("rewards", {"price": "12\x00.50"}, ["price"]),
])
def test_a_nul_in_a_put_body(client: TestClient, staff: Account, session_factory: sessionmaker[Session], kind: str,
                             changes: dict[str, object], field_names: list[str]) -> None:
    assert put(client, staff, "users", USER_ID, user_body()).status_code == 201
    assert put(client, staff, "projects", PROJECT_ID, project_body(USER_ID)).status_code == 201
    body = {"users": user_body(), "projects": project_body(USER_ID), "rewards": reward_body(PROJECT_ID)}[kind]
    record_id = {"users": USER_ID, "projects": PROJECT_ID, "rewards": 9001}[kind]
    before = snapshot(session_factory)
    assert _value_errors(put(client, staff, kind, record_id, {**body, **changes})) == [field_names]
    assert snapshot(session_factory) == before


@pytest.mark.parametrize(("changes", "field_names"), [
    ({"note": NUL}, ["note"]),
    ({"status": "payment-completed\x00"}, ["status"]),
    ({"payment_method": NUL}, ["payment_method"]),
    ({"created_at": "2026-03-01T10:30:00\x00+01:00"}, ["created_at"]),
    ({"user": user(5005, username=NUL)}, ["user", "username"]),
    ({"user": user(5005, email="zo\x00e@example.com")}, ["user", "email"]),
    ({"user": user(5005, first_name=NUL)}, ["user", "first_name"]),
    ({"shipping_address": {"city": NUL}}, ["shipping_address", "city"]),
    ({"billing_address": {"postal_code": "750\x0001"}}, ["billing_address", "postal_code"]),
    ({"billing_address": {"country": "F\x00"}}, ["billing_address", "country"]),
    ({"tracking": {"source": NUL, "medium": "email"}}, ["tracking", "source"]),
    ({"order_total": "12\x00.50"}, ["order_total"]),
])
def test_a_nul_in_an_imported_order(client: TestClient, staff: Account, project_a: Project,
                                    session_factory: sessionmaker[Session], changes: dict[str, Any],
                                    field_names: list[str]) -> None:
    before = snapshot(session_factory)
    response = post_import(client, staff, project_a.id, ndjson(order(1), order(2, **changes)))
    assert _value_errors(response) == [["line 2", *field_names]]
    assert snapshot(session_factory) == before


@pytest.mark.parametrize(("changes", "field_names"), [
    ({"columns": {"order.id": NUL}}, ["columns", "order.id"]),
    ({"columns": {"order.i\x00d": "Order"}}, ["columns", "order.i\x00d"]),
    ({"format": "csv\x00"}, ["format"]),
    ({"type": "orders\x00"}, ["type"]),
    ({"csv_dialect": "rfc4180\x00"}, ["csv_dialect"]),
])
def test_a_nul_in_an_export_request(client: TestClient, alice: Account, project_a: Project,
                                    changes: dict[str, object], field_names: list[str]) -> None:
    body = json.dumps({"format": "csv", "type": "orders", **changes})
    response = client.post(f"/v1/projects/{project_a.id}/exports", content=body,
                           headers={**alice.bearer, "Content-Type": "application/json"})
    assert _value_errors(response) == [field_names]

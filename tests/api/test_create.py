"""POST /v1/projects/{id}/exports: the happy path, and a table of bad bodies (one error per problem)."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crowdexports.api.app import create_app
from crowdexports.api.schemas import ExportOut
from crowdexports.config import Settings
from crowdexports.exports.types import get_type
from crowdexports.exports.types.base import select_columns
from crowdexports.models import Export, OAuthClient, Project
from crowdexports.runtime import Runtime
from tests.api.conftest import Account, make_account

JSON = "application/json"
VALID = {"format": "csv", "type": "orders"}


def create(client: TestClient, project: Project, account: Account, content: bytes | str,
           content_type: str | None = JSON) -> httpx.Response:
    headers = dict(account.bearer)
    if content_type:
        headers["Content-Type"] = content_type
    return client.post(f"/v1/projects/{project.id}/exports", content=content, headers=headers)


def with_(**fields: object) -> str:
    return json.dumps({**VALID, **fields})


def default_headers(lang: str, zone: str = "Europe/Paris") -> dict[str, str]:
    return {c.id: c.header for c in select_columns(get_type("orders").catalogue, None, lang, zone)}


def test_create_answers_201_with_the_waiting_export_and_dispatches_it(
        client: TestClient, session: Session, project_a: Project, alice: Account,
        dispatched: list[int]) -> None:
    response = client.post(f"/v1/projects/{project_a.id}/exports", json={"format": "xlsx", "type": "orders"},
                           headers=alice.bearer)
    assert response.status_code == 201, response.text
    body = response.json()
    ExportOut.model_validate(body)
    assert response.headers["location"] == f"/v1/exports/{body['id']}"
    assert (body["status"], body["format"], body["type"], body["project_id"]) == (
        "waiting", "xlsx", "orders", project_a.id)
    assert body["url"] is None and body["progress"] is None
    assert body["user"] == {"id": alice.user.id, "username": "alice", "name": "Alice Tester",
                            "first_name": "Alice", "last_name": "Tester", "lang": "en",
                            "email": "alice@example.com"}
    assert body["columns"] == default_headers("en")
    assert list(body["columns"])[:2] == ["order.id", "user.username"]
    assert dispatched == [body["id"]]
    stored = session.get_one(Export, body["id"])
    assert (stored.status, stored.user_id, stored.columns) == ("waiting", alice.user.id, None)


def test_default_headers_are_in_the_recipients_language(
        client: TestClient, session: Session, settings: Settings, oauth_client: tuple[OAuthClient, str, str],
        project_a: Project) -> None:
    francoise = make_account(session, settings, "francoise", oauth_client[0], lang="fr")
    project_a.owner_id = francoise.user.id
    session.commit()
    body = create(client, project_a, francoise, with_()).json()
    assert body["columns"] == default_headers("fr")
    assert body["columns"] != default_headers("en")


@pytest.mark.parametrize("columns", [
    {"order.id": "Commande n°", "user.email": "📧 E-mail"},
    {"user.full_name": "\u202eeman lluf", "order.total": "合計 (€)", "order.note": "Ne\u0301e"},
])
def test_chosen_columns_keep_their_order_and_any_unicode_text(
        client: TestClient, session: Session, project_a: Project, alice: Account,
        columns: dict[str, str]) -> None:
    response = create(client, project_a, alice, with_(columns=columns))
    assert response.status_code == 201, response.text
    body = response.json()
    assert list(body["columns"].items()) == list(columns.items())
    assert session.get_one(Export, body["id"]).columns == columns


def test_a_charset_parameter_is_fine(client: TestClient, project_a: Project, alice: Account) -> None:
    assert create(client, project_a, alice, with_(), "application/json; charset=utf-8").status_code == 201


def test_a_failed_dispatch_still_answers_201(client: TestClient, runtime: Runtime, session: Session,
                                             project_a: Project, alice: Account) -> None:
    def broken(export_id: int) -> None:
        raise ConnectionError("queue down")

    with TestClient(create_app(runtime, broken)) as broken_queue:
        response = create(broken_queue, project_a, alice, with_())
    assert response.status_code == 201
    assert session.get_one(Export, response.json()["id"]).status == "waiting"


LONG = "h" * 300
COLUMN = ["columns", "order.id"]
BAD_BODIES = [
    # (case, body, content type, status, [(classification, fieldNames), ...])
    ("array", "[]", JSON, 400, [("DeserializationError", [])]),
    ("string", '"x"', JSON, 400, [("DeserializationError", [])]),
    ("truncated", "{", JSON, 400, [("DeserializationError", [])]),
    ("empty", "", JSON, 400, [("DeserializationError", [])]),
    ("NaN literal", '{"format": NaN, "type": "orders"}', JSON, 400, [("DeserializationError", [])]),
    ("not UTF-8", b'{"format": "\xff", "type": "orders"}', JSON, 400, [("DeserializationError", [])]),
    ("deep nesting", "[" * 20000 + "]" * 20000, JSON, 400, [("DeserializationError", [])]),
    ("text/plain", with_(), "text/plain", 415, [("UnsupportedMediaTypeError", [])]),
    ("form", "format=csv&type=orders", "application/x-www-form-urlencoded", 415,
     [("UnsupportedMediaTypeError", [])]),
    ("no content type", with_(), None, 415, [("UnsupportedMediaTypeError", [])]),
    ("2 MB", with_(note="x" * 2_000_000), JSON, 413, [("PayloadTooLargeError", [])]),
    ("format CSV", with_(format="CSV"), JSON, 400, [("ValueError", ["format"])]),
    ("format pdf", with_(format="pdf"), JSON, 400, [("ValueError", ["format"])]),
    ("format 1", with_(format=1), JSON, 400, [("TypeError", ["format"])]),
    ("format null", with_(format=None), JSON, 400, [("TypeError", ["format"])]),
    ("format list", with_(format=["csv"]), JSON, 400, [("TypeError", ["format"])]),
    ("type Orders", with_(type="Orders"), JSON, 400, [("ValueError", ["type"])]),
    ("missing type", '{"format": "csv"}', JSON, 400, [("RequiredError", ["type"])]),
    ("missing both", "{}", JSON, 400, [("RequiredError", ["type"]), ("RequiredError", ["format"])]),
    ("unknown fields", with_(foo=1, bar=None), JSON, 400,
     [("UnknownFieldError", ["foo"]), ("UnknownFieldError", ["bar"])]),
    ("columns string", with_(columns="order.id"), JSON, 400, [("TypeError", ["columns"])]),
    ("columns list", with_(columns=["order.id"]), JSON, 400, [("TypeError", ["columns"])]),
    ("unknown column", with_(columns={"order.id": "Id", "nope": "X"}), JSON, 400,
     [("ValueError", ["columns", "nope"])]),
    ("empty header", with_(columns={"order.id": ""}), JSON, 400, [("ValueError", ["columns", "order.id"])]),
    ("blank header", with_(columns={"order.id": "  "}), JSON, 400, [("ValueError", ["columns", "order.id"])]),
    ("300-char header", with_(columns={"order.id": LONG}), JSON, 400, [("ValueError", COLUMN)]),
    ("number header", with_(columns={"order.id": 5}), JSON, 400, [("TypeError", ["columns", "order.id"])]),
    ("empty columns", with_(columns={}), JSON, 400, [("ValueError", ["columns"])]),
    ("NUL in header", with_(columns={"order.id": "Id\u0000"}), JSON, 400, [("ValueError", COLUMN)]),
    ("newline in header", with_(columns={"order.id": "a\nb"}), JSON, 400, [("ValueError", COLUMN)]),
    ("lone surrogate", '{"format": "csv", "type": "orders", "columns": {"order.id": "\\ud800"}}', JSON, 400,
     [("ValueError", ["columns", "order.id"])]),
    ("every problem at once", '{"format": "CSV", "type": 1, "x": 0}', JSON, 400,
     [("UnknownFieldError", ["x"]), ("TypeError", ["type"]), ("ValueError", ["format"])]),
]


@pytest.mark.parametrize(("body", "content_type", "status", "expected"), [case[1:] for case in BAD_BODIES],
                         ids=[case[0] for case in BAD_BODIES])
def test_bad_bodies_are_refused_one_error_per_problem(
        client: TestClient, session: Session, project_a: Project, alice: Account, dispatched: list[int],
        body: str | bytes, content_type: str | None, status: int,
        expected: list[tuple[str, list[str]]]) -> None:
    response = create(client, project_a, alice, body, content_type)
    assert response.status_code == status, response.text
    errors = response.json()["errors"]
    assert sorted((e["classification"], e["fieldNames"]) for e in errors) == sorted(expected)
    assert all(isinstance(e["message"], str) and e["message"] for e in errors)
    assert session.scalar(select(func.count()).select_from(Export)) == 0
    assert dispatched == []


@pytest.mark.parametrize("project_id", ["abc", "-1", "0", "99999999999999999999", "1.5", "%00"])
def test_bad_project_ids_are_404(client: TestClient, alice: Account, project_id: str) -> None:
    response = client.post(f"/v1/projects/{project_id}/exports", json=VALID, headers=alice.bearer)
    assert response.status_code == 404
    assert response.json()["errors"][0]["classification"] == "NotFoundError"


def test_a_large_body_without_content_length_is_413_too(client: TestClient, project_a: Project,
                                                        alice: Account) -> None:
    chunks = (b" " * 16384 for _ in range(100))  # streamed: no Content-Length, so it is counted as read
    response = client.post(f"/v1/projects/{project_a.id}/exports", content=chunks,
                           headers={**alice.bearer, "Content-Type": JSON})
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["errors"][0]["classification"] == "PayloadTooLargeError"

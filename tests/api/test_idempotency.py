"""`Idempotency-Key` on POST /v1/projects/{id}/exports (issue 15), by Stripe's rules: the same key and body
from the same user within 24 hours answer the same export (200, `Idempotent-Replayed: true`), another body
is 422, concurrent requests with one key make one export; a refused request keeps no key; keys obey the cap,
the body limit and privacy (another user's same key is their own)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from crowdexports.api.schemas import ExportOut
from crowdexports.exports import idempotency
from crowdexports.models import Export, IdempotencyKey, Project, utcnow
from crowdexports.ratelimit import Limit
from crowdexports.runtime import Runtime
from tests.api.conftest import Account, limited_client

BODY = {"format": "csv", "type": "orders"}
KEY = "4f9d2c1e-order-export"


def _create(client: TestClient, project: Project, account: Account, key: str | None = KEY,
            body: Mapping[str, object] | None = None) -> httpx.Response:
    headers = account.bearer | ({"Idempotency-Key": key} if key is not None else {})
    return client.post(f"/v1/projects/{project.id}/exports", json=BODY if body is None else body, headers=headers)


def _count(session: Session, model: type[Export] | type[IdempotencyKey]) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_the_same_key_and_body_answer_the_same_export(client: TestClient, session: Session, alice: Account,
                                                     project_a: Project, dispatched: list[int]) -> None:
    first = _create(client, project_a, alice)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = client.post(f"/v1/projects/{project_a.id}/exports", headers=alice.bearer | {"Idempotency-Key": KEY,
                        "Content-Type": "application/json"}, content=b'{ "type": "orders",  "format": "csv" }')
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    ExportOut.model_validate(again.json())
    assert again.json()["id"] == first.json()["id"] and again.headers["Location"] == first.headers["Location"]
    assert _count(session, Export) == 1 and dispatched == [first.json()["id"]]  # dispatched once


def test_a_replay_shows_the_export_as_it_is_now(client: TestClient, session: Session, alice: Account,
                                               project_a: Project) -> None:
    first = _create(client, project_a, alice).json()
    assert client.post(f"/v1/exports/{first['id']}/cancel", headers=alice.bearer).status_code == 200
    assert _create(client, project_a, alice).json()["status"] == "canceled"


@pytest.mark.parametrize("other", [{"format": "xlsx", "type": "orders"},
                                   {"format": "csv", "type": "orders", "csv_dialect": "excel_eu"}])
def test_the_same_key_with_another_body_is_422(client: TestClient, session: Session, alice: Account,
                                              project_a: Project, other: dict[str, object]) -> None:
    assert _create(client, project_a, alice).status_code == 201
    refused = _create(client, project_a, alice, body=other)
    assert refused.status_code == 422 and "Idempotent-Replayed" not in refused.headers
    [error] = refused.json()["errors"]
    assert error["classification"] == "IdempotencyError" and error["fieldNames"] == ["Idempotency-Key"]
    assert _count(session, Export) == 1


def test_the_same_key_on_another_project_is_422(client: TestClient, session: Session, alice: Account,
                                               project_a: Project) -> None:
    other = Project(owner_id=alice.user.id, name="Another", slug="another")
    session.add(other)
    session.commit()
    assert _create(client, project_a, alice).status_code == 201
    assert _create(client, other, alice).status_code == 422


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "tab\there", "del\x7f"])
def test_a_malformed_key_is_400_on_the_header_and_stores_nothing(client: TestClient, session: Session,
                                                                alice: Account, project_a: Project, key: str) -> None:
    headers = [(name.encode(), value.encode()) for name, value in alice.bearer.items()]
    response = client.post(f"/v1/projects/{project_a.id}/exports", content=b'{"format": "csv", "type": "orders"}',
                           headers=[*headers, (b"Content-Type", b"application/json"),
                                    (b"Idempotency-Key", key.encode("utf-8"))])
    assert response.status_code == 400
    assert response.json()["errors"][0]["fieldNames"] == ["Idempotency-Key"]
    assert _count(session, Export) == _count(session, IdempotencyKey) == 0


def test_the_longest_key_is_taken(client: TestClient, alice: Account, project_a: Project) -> None:
    assert _create(client, project_a, alice, key="~" * 255).status_code == 201


def test_a_refused_request_keeps_no_key(client: TestClient, session: Session, alice: Account,
                                        project_a: Project) -> None:
    """A 400 (its values) stores nothing: the fixed request, with the same key, makes the export."""
    assert _create(client, project_a, alice, body={"format": "pdf", "type": "orders"}).status_code == 400
    assert _count(session, IdempotencyKey) == 0
    assert _create(client, project_a, alice).status_code == 201


def test_a_replay_does_not_count_against_the_cap_and_a_429_keeps_no_key(
        client: TestClient, session: Session, runtime: Runtime, alice: Account, project_a: Project) -> None:
    cap = runtime.settings.max_active_exports_per_project
    first = _create(client, project_a, alice)
    for index in range(cap - 1):
        assert _create(client, project_a, alice, key=f"fill-{index}").status_code == 201
    replay = _create(client, project_a, alice)
    assert replay.status_code == 200 and replay.json()["id"] == first.json()["id"]
    assert _create(client, project_a, alice, key="one-too-many").status_code == 429
    assert session.scalar(select(IdempotencyKey).where(IdempotencyKey.key == "one-too-many")) is None
    assert _count(session, Export) == cap


def test_another_users_same_key_is_their_own(client: TestClient, session: Session, alice: Account, bob: Account,
                                            project_a: Project, project_b: Project) -> None:
    """Privacy: a key names a request of one user; bob's same key makes bob's export, never replays alice's
    (nor tells him it was used: no 422)."""
    mine = _create(client, project_a, alice).json()
    theirs = _create(client, project_b, bob)
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers
    assert theirs.json()["id"] != mine["id"] and theirs.json()["project_id"] == project_b.id
    assert _create(client, project_a, bob).status_code == 403  # alice's project is still alice's


def test_a_key_older_than_24_hours_is_forgotten_and_may_be_used_again(
        client: TestClient, session: Session, runtime: Runtime, alice: Account, project_a: Project) -> None:
    first = _create(client, project_a, alice).json()
    session.execute(update(IdempotencyKey).values(created_at=utcnow() - timedelta(hours=24, seconds=1)))
    session.commit()
    again = _create(client, project_a, alice, body={"format": "xlsx", "type": "orders"})
    assert again.status_code == 201 and again.json()["id"] != first["id"]
    assert _create(client, project_a, alice, body={"format": "xlsx", "type": "orders"}).status_code == 200
    session.execute(update(IdempotencyKey).values(created_at=utcnow() - timedelta(hours=25)))
    session.commit()
    with runtime.sessions() as purging:
        assert idempotency.purge_expired(purging) == 1
    assert _count(session, IdempotencyKey) == 0


def test_a_body_over_the_limit_is_413_and_keeps_no_key(client: TestClient, session: Session, runtime: Runtime,
                                                      alice: Account, project_a: Project) -> None:
    body = {"format": "csv", "type": "orders", "columns": {"order.id": "x" * runtime.settings.max_body_bytes}}
    assert _create(client, project_a, alice, body=body).status_code == 413
    assert _count(session, IdempotencyKey) == 0


def test_concurrent_requests_with_one_key_make_one_export(client: TestClient, session: Session, alice: Account,
                                                         project_a: Project, dispatched: list[int]) -> None:
    """12 requests at once with one key (the route runs in threads): one 201, eleven replays of its export."""
    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            return await asyncio.gather(*(http.post(f"/v1/projects/{project_a.id}/exports", json=BODY,
                                                    headers=alice.bearer | {"Idempotency-Key": KEY})
                                          for _ in range(12)))

    answers = asyncio.run(burst())
    assert sorted(answer.status_code for answer in answers) == [200] * 11 + [201]
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert _count(session, Export) == _count(session, IdempotencyKey) == 1 and len(dispatched) == 1


def test_the_openapi_document_names_the_header_and_its_answers(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/v1/projects/{project_id}/exports"]["post"]
    [header] = [p for p in operation["parameters"] if p["in"] == "header"]
    assert header["name"] == "Idempotency-Key" and header["required"] is False
    assert header["schema"]["anyOf"][0]["type"] == "string"
    replay = operation["responses"]["200"]
    assert replay["headers"]["Idempotent-Replayed"]["schema"] == {"type": "string", "enum": ["true"]}
    assert replay["content"]["application/json"]["schema"]["$ref"].endswith("/ExportOut")
    assert operation["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")


def test_replays_count_against_the_rate_limit_and_a_429_keeps_no_key(
        runtime: Runtime, session: Session, alice: Account, project_a: Project) -> None:
    """A replay is a request like any other for the per-credential limit; one refused by it stores nothing."""
    with limited_client(runtime, rate_limit_api=Limit(2, 60)) as client:
        assert _create(client, project_a, alice).status_code == 201
        assert _create(client, project_a, alice).status_code == 200
        assert _create(client, project_a, alice).status_code == 429
        assert _create(client, project_a, alice, key="refused-by-the-limit").status_code == 429
    assert session.scalar(select(IdempotencyKey).where(IdempotencyKey.key == "refused-by-the-limit")) is None
    assert _count(session, Export) == 1

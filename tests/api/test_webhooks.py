"""Webhook endpoints (issue 17, point 1): registered, listed, shown and deleted by their owner only, with
their attempts listed; bad bodies are 400 with fieldNames, the cap per owner 409."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crowdexports.api.app import create_app
from crowdexports.models import Project, WebhookAttempt, WebhookDelivery, utcnow
from crowdexports.runtime import Runtime
from crowdexports.webhooks import rules
from tests.api.conftest import Account, ignore_dispatch, request_export

URL = "https://books.example/hooks/crowdexports"


def register(client: TestClient, account: Account, **fields: Any) -> httpx.Response:
    return client.post("/v1/webhook-endpoints", json={"url": URL, "events": ["export.succeeded"], **fields},
                       headers=account.bearer)


def registered(client: TestClient, account: Account, **fields: Any) -> dict[str, Any]:
    response = register(client, account, **fields)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def errors(response: httpx.Response) -> list[tuple[str, list[str]]]:
    assert response.status_code == 400, response.text
    return [(error["classification"], error["fieldNames"]) for error in response.json()["errors"]]


def configured(runtime: Runtime, **settings: Any) -> TestClient:
    return TestClient(create_app(dataclasses.replace(runtime, settings=runtime.settings.model_copy(update=settings)),
                                 ignore_dispatch))


def test_an_endpoint_is_registered_listed_shown_and_deleted(client: TestClient, alice: Account) -> None:
    response = register(client, alice, events=["export.failed", "export.succeeded", "export.failed"])
    assert response.status_code == 201, response.text
    made = response.json()
    assert response.headers["Location"] == f"/v1/webhook-endpoints/{made['id']}"
    assert made["secret"].startswith("whsec_") and made["url"] == URL and made["project_id"] is None
    assert made["events"] == ["export.failed", "export.succeeded"] and made["enabled"] is True
    url = f"/v1/webhook-endpoints/{made['id']}"
    shown = client.get(url, headers=alice.bearer).json()
    assert shown == {key: value for key, value in made.items() if key != "secret"}  # the secret is shown once
    assert client.get("/v1/webhook-endpoints", headers=alice.apikey).json() == {"webhook_endpoints": [shown]}
    assert client.delete(url, headers=alice.bearer).status_code == 204
    assert client.get(url, headers=alice.bearer).status_code == 404
    assert client.get("/v1/webhook-endpoints", headers=alice.bearer).json() == {"webhook_endpoints": []}


def test_an_endpoint_of_one_project(client: TestClient, alice: Account, project_a: Project) -> None:
    assert registered(client, alice, project_id=project_a.id)["project_id"] == project_a.id


def test_others_and_staff_do_not_see_an_endpoint(client: TestClient, alice: Account, bob: Account,
                                                 staff: Account) -> None:
    made = registered(client, alice)
    url = f"/v1/webhook-endpoints/{made['id']}"
    for other in (bob, staff):
        missing = client.get("/v1/webhook-endpoints/999999", headers=other.bearer)
        for answer in (client.get(url, headers=other.bearer), client.get(f"{url}/attempts", headers=other.bearer),
                       client.delete(url, headers=other.bearer)):
            assert answer.status_code == 404
            assert answer.json()["errors"][0]["message"].replace(str(made["id"]), "N") == \
                missing.json()["errors"][0]["message"].replace("999999", "N")
        assert client.get("/v1/webhook-endpoints", headers=other.bearer).json() == {"webhook_endpoints": []}
    assert client.get(url, headers=alice.bearer).status_code == 200


def test_read_only_credentials_cannot_register_nor_delete(client: TestClient, alice: Account) -> None:
    made = registered(client, alice)
    assert client.post("/v1/webhook-endpoints", json={"url": URL, "events": ["export.succeeded"]},
                       headers=alice.apikey).status_code == 403
    assert client.delete(f"/v1/webhook-endpoints/{made['id']}", headers=alice.apikey).status_code == 403


@pytest.mark.parametrize(("body", "expected"), [
    ({"url": "ftp://books.example/x", "events": ["export.succeeded"]}, [("ValueError", ["url"])]),
    ({"url": "https://user:pw@books.example/", "events": ["export.succeeded"]}, [("ValueError", ["url"])]),
    ({"url": "https:///nohost", "events": ["export.succeeded"]}, [("ValueError", ["url"])]),
    ({"url": "https://books.example:99999/", "events": ["export.succeeded"]}, [("ValueError", ["url"])]),
    ({"url": "https://127.0.0.1/hook", "events": ["export.succeeded"]}, [("ValueError", ["url"])]),
    ({"url": "http://169.254.169.254/latest", "events": ["export.succeeded"]}, [("ValueError", ["url"])]),
    ({"url": "https://[::1]/hook", "events": ["export.succeeded"]}, [("ValueError", ["url"])]),
    ({"url": "https://books.example/hook\u202e", "events": ["export.succeeded"]}, [("ValueError", ["url"])]),
    ({"url": "https://bo\u043eks.example/hook", "events": ["export.succeeded"]}, [("ValueError", ["url"])]),
    ({"url": "https://books.example/a b", "events": ["export.succeeded"]}, [("ValueError", ["url"])]),
    ({"events": ["export.succeeded"]}, [("RequiredError", ["url"])]),
    ({"url": URL}, [("RequiredError", ["events"])]),
    ({"url": URL, "events": []}, [("TypeError", ["events"])]),
    ({"url": URL, "events": "export.succeeded"}, [("TypeError", ["events"])]),
    ({"url": URL, "events": ["export.succeeded", "export.started"]}, [("ValueError", ["events", "1"])]),
    ({"url": URL, "events": ["export.succeeded"], "project_id": "1"}, [("TypeError", ["project_id"])]),
    ({"url": URL, "events": ["export.succeeded"], "project_id": 999999}, [("ValueError", ["project_id"])]),
    ({"url": URL, "events": ["export.succeeded"], "secret": "whsec_x"}, [("PermissionError", ["secret"])]),
    ({"url": URL, "events": ["export.succeeded"], "colour": "red"}, [("UnknownFieldError", ["colour"])]),
])
def test_bad_bodies_are_400_naming_the_field(client: TestClient, alice: Account, body: dict[str, Any],
                                             expected: list[tuple[str, list[str]]]) -> None:
    assert errors(client.post("/v1/webhook-endpoints", json=body, headers=alice.bearer)) == expected


def test_another_owners_project_is_refused_as_a_missing_one(client: TestClient, alice: Account,
                                                            project_b: Project) -> None:
    refused = client.post("/v1/webhook-endpoints", json={"url": URL, "events": ["export.failed"],
                                                         "project_id": project_b.id}, headers=alice.bearer)
    assert errors(refused) == [("ValueError", ["project_id"])]
    assert refused.json()["errors"][0]["message"] == f"project {project_b.id} is not one of yours"


def test_the_setting_allows_private_addresses(runtime: Runtime, alice: Account) -> None:
    allowed = configured(runtime, webhooks_allow_private_addresses=True)
    assert registered(allowed, alice, url="http://127.0.0.1:8123/hook")["url"] == "http://127.0.0.1:8123/hook"


def test_an_owner_has_at_most_the_cap_of_endpoints(runtime: Runtime, alice: Account, bob: Account) -> None:
    capped = configured(runtime, max_webhook_endpoints_per_owner=2)
    registered(capped, alice)
    registered(capped, alice)
    refused = register(capped, alice)
    assert refused.status_code == 409 and "2 webhook endpoints" in refused.json()["errors"][0]["message"]
    registered(capped, bob)  # per owner


def test_attempts_are_listed_newest_first(client: TestClient, session: Session, alice: Account,
                                          project_a: Project) -> None:
    made = registered(client, alice)
    export = request_export(session, project_a, alice.user)
    event_id = rules.event_id(export.id, "export.succeeded")
    delivery = WebhookDelivery(endpoint_id=made["id"], export_id=export.id, event="export.succeeded",
                               event_id=event_id, attempts=2)
    session.add(delivery)
    session.flush()
    first = utcnow() - timedelta(seconds=10)
    session.add_all([
        WebhookAttempt(delivery_id=delivery.id, number=1, started_at=first, duration_ms=10_000, error="timeout",
                       outcome=rules.Outcome.RETRY),
        WebhookAttempt(delivery_id=delivery.id, number=2, started_at=first + timedelta(seconds=5), duration_ms=12,
                       status_code=204, outcome=rules.Outcome.DELIVERED)])
    session.commit()
    attempts = client.get(f"/v1/webhook-endpoints/{made['id']}/attempts", headers=alice.apikey).json()["attempts"]
    assert [(attempt["number"], attempt["status_code"], attempt["outcome"], attempt["error"])
            for attempt in attempts] == [(2, 204, "delivered", None), (1, None, "retry", "timeout")]
    assert {attempt["event_id"] for attempt in attempts} == {event_id}
    assert {attempt["export_id"] for attempt in attempts} == {export.id}


def test_deleting_an_endpoint_deletes_its_deliveries(client: TestClient, session: Session, alice: Account,
                                                     project_a: Project) -> None:
    made = registered(client, alice)
    export = request_export(session, project_a, alice.user)
    session.add(WebhookDelivery(endpoint_id=made["id"], export_id=export.id, event="export.failed",
                                event_id=rules.event_id(export.id, "export.failed")))
    session.commit()
    assert client.delete(f"/v1/webhook-endpoints/{made['id']}", headers=alice.bearer).status_code == 204
    assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0

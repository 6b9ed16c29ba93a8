"""Webhook deliveries sent (issue 17, point 1; webhooks/sender.py): the body is the export as the API shows
it, signed as Standard Webhooks says; failures retried on the schedule and listed; at most
`webhook_concurrency` sent at once; the owner emailed once when the endpoint is disabled."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from crowdexports.config import Settings
from crowdexports.models import Project, WebhookDelivery, WebhookEndpoint, utcnow
from crowdexports.runtime import Runtime
from crowdexports.webhooks import deliveries, rules, sender
from tests.api.conftest import Account, succeeded_export
from tests.e2e.conftest import wait_for
from tests.webhooks.receiver import HANG, Receiver, running


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhooks_allow_private_addresses": True, "webhook_timeout_seconds": 1.0,
                                       "webhook_first_retry_seconds": [0.0, 0.0], "webhook_concurrency": 2})


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    yield from running(getattr(request, "param", [204]))


@pytest.fixture
def sending(runtime: Runtime) -> Iterator[sender.Sender]:
    thread = sender.Sender(runtime)
    thread.start()
    yield thread
    thread.stopped.set()
    thread.join(timeout=5)


def register(client: TestClient, account: Account, url: str) -> dict[str, Any]:
    response = client.post("/v1/webhook-endpoints", json={"url": url, "events": list(rules.EVENTS)},
                           headers=account.bearer)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def attempt_now(runtime: Runtime, session: Session) -> deliveries.Recorded | None:
    now = utcnow()
    [delivery_id] = deliveries.due(session, now, 10)
    claimed = deliveries.claim(session, delivery_id, now)
    assert claimed is not None
    return sender.attempt(runtime, claimed)


def test_a_delivery_is_the_export_as_the_api_shows_it_signed(
        client: TestClient, runtime: Runtime, session: Session, alice: Account, project_a: Project,
        receiver: Receiver) -> None:
    endpoint = register(client, alice, receiver.url)
    export = succeeded_export(session, runtime, project_a, alice.user)
    recorded = attempt_now(runtime, session)
    assert recorded is not None and recorded.outcome is rules.Outcome.DELIVERED
    [got] = receiver.requests
    payload = Webhook(endpoint["secret"]).verify(got.body, got.headers)
    shown = client.get(f"/v1/exports/{export.id}", headers=alice.bearer).json()
    assert payload == {"type": "export.succeeded", "timestamp": shown["finished_at"], "data": shown}
    assert got.headers["webhook-id"] == rules.event_id(export.id, "export.succeeded")
    attempts = client.get(f"/v1/webhook-endpoints/{endpoint['id']}/attempts", headers=alice.bearer).json()
    assert [(a["number"], a["status_code"], a["outcome"]) for a in attempts["attempts"]] == [(1, 204, "delivered")]


@pytest.mark.parametrize("receiver", [[500, 503, 200]], indirect=True)
def test_failures_are_retried_until_delivered(client: TestClient, runtime: Runtime, session: Session,
                                              alice: Account, project_a: Project, receiver: Receiver,
                                              sending: sender.Sender) -> None:
    endpoint = register(client, alice, receiver.url)
    succeeded_export(session, runtime, project_a, alice.user)
    url = f"/v1/webhook-endpoints/{endpoint['id']}/attempts"

    def listed() -> list[tuple[int, int, str]] | None:
        attempts = client.get(url, headers=alice.bearer).json()["attempts"]
        return [(a["number"], a["status_code"], a["outcome"]) for a in attempts] if len(attempts) == 3 else None

    assert wait_for(listed, timeout=15) == [(3, 200, "delivered"), (2, 503, "retry"), (1, 500, "retry")]
    assert len({got.headers["webhook-id"] for got in receiver.requests}) == 1  # one event, three attempts
    metrics = client.get("/metrics").text.splitlines()
    assert {'crowdexports_webhook_deliveries{status="pending"} 0.0',
            'crowdexports_webhook_deliveries{status="succeeded"} 1.0',
            'crowdexports_webhook_deliveries{status="failed"} 0.0',
            'crowdexports_webhook_attempts_total{outcome="delivered"} 1.0',
            'crowdexports_webhook_attempts_total{outcome="retry"} 2.0',
            'crowdexports_webhook_attempts_total{outcome="refused"} 0.0'} <= set(metrics)


@pytest.mark.parametrize("receiver", [[HANG]], indirect=True)
def test_at_most_the_concurrency_is_sent_at_once(client: TestClient, runtime: Runtime, session: Session,
                                                 alice: Account, project_a: Project, receiver: Receiver) -> None:
    patient = dataclasses.replace(runtime, settings=runtime.settings.model_copy(
        update={"webhook_timeout_seconds": 10.0}))  # the hangs hold their slots for the whole test
    sending = sender.Sender(patient)
    sending.start()
    for _ in range(5):
        register(client, alice, receiver.url)
    succeeded_export(session, runtime, project_a, alice.user)
    wait_for(lambda: len(receiver.requests) == 2, timeout=10)
    # Both slots are held: the sender polls on and claims nothing more while they are.
    sending.stopped.wait(3 * sender.POLL_SECONDS)
    session.rollback()
    assert len(deliveries.due(session, utcnow(), 10)) == 3 and len(receiver.requests) == 2
    receiver.released.set()  # the hangs end unanswered (retried); the other three are sent

    def all_attempted() -> bool:
        session.rollback()
        return all(attempts >= 1 for attempts in session.scalars(select(WebhookDelivery.attempts)))

    wait_for(all_attempted, timeout=15)
    sending.stopped.set()


@pytest.mark.parametrize(("lang", "subject"), [("en", "Your webhook endpoint {url} was disabled"),
                                               ("fr", "Point de terminaison webhook désactivé : {url}")])
@pytest.mark.parametrize("receiver", [[500]], indirect=True)
def test_an_endpoint_disabled_emails_its_owner_once(client: TestClient, runtime: Runtime, session: Session,
                                                   alice: Account, project_a: Project, receiver: Receiver,
                                                   lang: str, subject: str) -> None:
    alice.user.lang = lang
    endpoint = register(client, alice, receiver.url)
    row = session.get_one(WebhookEndpoint, endpoint["id"])
    row.failing_since = utcnow() - rules.DISABLE_AFTER - timedelta(seconds=1)
    session.commit()
    succeeded_export(session, runtime, project_a, alice.user)
    recorded = attempt_now(runtime, session)
    assert recorded is not None and recorded.disabled
    shown = client.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=alice.bearer).json()
    assert not shown["enabled"] and "HTTP 500" in shown["disabled_reason"]
    [mail] = runtime.settings.outbox_dir.glob("*.eml")
    assert mail.name == f"webhook-endpoint-{endpoint['id']}-disabled.eml"
    message = message_from_bytes(mail.read_bytes(), policy=policy.default)
    raw_subject = message_from_bytes(mail.read_bytes())["Subject"]  # compat32: its encoded words, as sent
    assert str(make_header(decode_header(raw_subject))) == subject.format(url=receiver.url)
    assert message["To"].addresses[0].username == "alice"
    text = message.get_body(("plain",))
    assert text is not None and "HTTP 500" in text.get_content() and "POST /v1/webhook-endpoints" in text.get_content()
    session.rollback()
    assert session.scalars(select(WebhookDelivery.status)).all() == ["pending"]  # kept, never attempted again
    assert deliveries.due(session, utcnow() + timedelta(days=1), 10) == []
    assert orjson.loads(receiver.requests[0].body)["type"] == "export.succeeded"

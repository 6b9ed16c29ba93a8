"""Webhooks end to end (issue 17): a real HTTP receiver on loopback, `crowdexports worker` processes, exports
asked through the API. Failures then success, a hang, a receiver down for a while, a worker SIGKILLed
mid-delivery (the event arrives again with the same id), and a flood of hanging receivers that delays
no export nor email. The schedule's first delays and the timeout are made short by their settings."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from standardwebhooks.webhooks import Webhook

from crowdexports.config import Settings
from crowdexports.webhooks import rules
from tests.e2e.conftest import Owner, free_port, settings_env, start_cli, wait_for
from tests.webhooks.receiver import HANG, Receiver, running

pytestmark = pytest.mark.slow

receiving = contextmanager(running)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhooks_allow_private_addresses": True})


def worker_env(settings: Settings, *, timeout: float = 1.0, first_retries: str = "[0.2, 0.2]",
               concurrency: int = 4) -> dict[str, str]:
    return settings_env(settings, CROWDEXPORTS_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES="true",
                        CROWDEXPORTS_WEBHOOK_TIMEOUT_SECONDS=str(timeout),
                        CROWDEXPORTS_WEBHOOK_FIRST_RETRY_SECONDS=first_retries,
                        CROWDEXPORTS_WEBHOOK_CONCURRENCY=str(concurrency), CROWDEXPORTS_SWEEP_SECONDS="0.5")


@contextmanager
def worker(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = start_cli(["worker", "--concurrency", "1"], env, log)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def register(client: TestClient, owner: Owner, url: str) -> dict[str, Any]:
    response = client.post("/v1/webhook-endpoints", headers=owner.headers,
                           json={"url": url, "events": list(rules.EVENTS), "project_id": owner.project.id})
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def ask_export(client: TestClient, owner: Owner) -> int:
    response = client.post(f"/v1/projects/{owner.project.id}/exports", headers=owner.headers,
                           json={"type": "orders", "format": "csv"})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def attempts(client: TestClient, owner: Owner, endpoint: dict[str, Any], count: int) -> list[dict[str, Any]] | None:
    """The endpoint's attempts as the API lists them, oldest first, once there are `count`."""
    listed: list[dict[str, Any]] = client.get(f"/v1/webhook-endpoints/{endpoint['id']}/attempts",
                                              headers=owner.headers).json()["attempts"]
    return listed[::-1] if len(listed) >= count else None


def verified(receiver: Receiver, secret: str) -> list[tuple[str, Any]]:
    """Each request's webhook-id and body, every signature checked by the reference library."""
    return [(got.headers["webhook-id"], Webhook(secret).verify(got.body, got.headers)) for got in receiver.requests]


def test_500s_then_200_is_delivered_on_the_third_attempt(settings: Settings, client: TestClient, owner: Owner,
                                                         tmp_path: Path) -> None:
    with receiving([500, 500, 200]) as receiver, worker(worker_env(settings), tmp_path / "worker.log"):
        endpoint = register(client, owner, receiver.url)
        export_id = ask_export(client, owner)
        listed = wait_for(lambda: attempts(client, owner, endpoint, 3), timeout=60)
    assert [(a["number"], a["status_code"], a["outcome"]) for a in listed] == [
        (1, 500, "retry"), (2, 500, "retry"), (3, 200, "delivered")]
    event_id = rules.event_id(export_id, "export.succeeded")
    sent = verified(receiver, endpoint["secret"])
    assert [webhook_id for webhook_id, _ in sent] == [event_id] * 3
    shown = client.get(f"/v1/exports/{export_id}", headers=owner.headers).json()
    assert sent[-1][1] == {"type": "export.succeeded", "timestamp": shown["finished_at"], "data": shown}


def test_a_hang_is_a_timeout_then_retried(settings: Settings, client: TestClient, owner: Owner,
                                          tmp_path: Path) -> None:
    with receiving([HANG, 204]) as receiver, worker(worker_env(settings), tmp_path / "worker.log"):
        endpoint = register(client, owner, receiver.url)
        ask_export(client, owner)
        listed = wait_for(lambda: attempts(client, owner, endpoint, 2), timeout=60)
    assert [(a["number"], a["status_code"], a["outcome"]) for a in listed] == [(1, None, "retry"),
                                                                             (2, 204, "delivered")]
    assert listed[0]["error"].startswith("timeout") and listed[0]["duration_ms"] >= 900
    assert len({webhook_id for webhook_id, _ in verified(receiver, endpoint["secret"])}) == 1


def test_a_receiver_down_for_a_while_gets_the_event_once_up(settings: Settings, client: TestClient,
                                                            owner: Owner, tmp_path: Path) -> None:
    port = free_port()
    env = worker_env(settings, first_retries="[0.2, 3]")  # the third attempt 3 s after the second
    with worker(env, tmp_path / "worker.log"):
        endpoint = register(client, owner, f"http://127.0.0.1:{port}/hooks")
        export_id = ask_export(client, owner)
        down = wait_for(lambda: attempts(client, owner, endpoint, 2), timeout=60)
        with receiving([204], port=port) as receiver:  # up again, between the second attempt and the third
            listed = wait_for(lambda: attempts(client, owner, endpoint, 3), timeout=60)
    assert [(a["outcome"], a["error"].split(":")[0]) for a in down[:2]] == [("retry", "connection error")] * 2
    assert (listed[2]["number"], listed[2]["status_code"], listed[2]["outcome"]) == (3, 204, "delivered")
    assert [webhook_id for webhook_id, _ in verified(receiver, endpoint["secret"])] == [
        rules.event_id(export_id, "export.succeeded")]


def test_a_worker_killed_mid_delivery_sends_the_event_again_with_the_same_id(
        settings: Settings, client: TestClient, owner: Owner, tmp_path: Path) -> None:
    env = worker_env(settings, timeout=2.0)  # a lease of 6 s: the second worker sends once it lapses
    with receiving([HANG, 204]) as receiver:
        endpoint = register(client, owner, receiver.url)
        with worker(env, tmp_path / "worker1.log") as first:
            export_id = ask_export(client, owner)
            wait_for(lambda: len(receiver.requests) == 1, timeout=60, interval=0.01)
            os.killpg(first.pid, signal.SIGKILL)  # the receiver still holds the request
            first.wait(timeout=10)
        assert attempts(client, owner, endpoint, 1) is None  # the killed attempt recorded nothing
        with worker(env, tmp_path / "worker2.log"):
            listed = wait_for(lambda: attempts(client, owner, endpoint, 1), timeout=60)
    assert [(a["number"], a["status_code"], a["outcome"]) for a in listed] == [(1, 204, "delivered")]
    sent = verified(receiver, endpoint["secret"])
    assert [webhook_id for webhook_id, _ in sent] == [rules.event_id(export_id, "export.succeeded")] * 2
    assert sent[0][1]["data"]["id"] == sent[1][1]["data"]["id"] == export_id


def test_a_flood_of_hanging_receivers_delays_no_export_nor_email(settings: Settings, client: TestClient,
                                                                owner: Owner, tmp_path: Path) -> None:
    env = worker_env(settings, timeout=10.0, concurrency=2)
    with receiving([HANG]) as receiver, worker(env, tmp_path / "worker.log"):
        for _ in range(6):
            register(client, owner, receiver.url)
        ask_export(client, owner)
        wait_for(lambda: len(receiver.requests) == 2, timeout=60)  # every sender slot of the worker is held
        second = ask_export(client, owner)

        def emailed() -> bool:
            return (settings.outbox_dir / f"export-{second}.eml").exists()

        wait_for(emailed, timeout=60)
        shown = client.get(f"/v1/exports/{second}", headers=owner.headers).json()
        # The export was made and its email sent while the hangs were held: nothing waited on them.
        assert (shown["status"], shown["email_status"]) == ("succeeded", "sent")
        assert not receiver.released.is_set() and len(receiver.requests) == 2

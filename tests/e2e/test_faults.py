"""Faults survived, nothing lost, nothing twice: workers SIGKILLed at random, messages lost, SMTP down."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from crowdexports.api.app import create_app
from crowdexports.config import Settings
from crowdexports.exports import lifecycle
from crowdexports.models import Export
from crowdexports.runtime import Service, build_service
from crowdexports.seed import seed_orders
from crowdexports.worker.consumer import Worker
from tests.delivery.smtp_server import free_port as closed_port
from tests.delivery.smtp_server import smtp_server
from tests.e2e.conftest import Owner, settings_env, start_cli, wait_for

pytestmark = pytest.mark.slow
TERMINAL = ("succeeded", "failed", "canceled")


def _rows(service: Service, ids: list[int]) -> list[Export]:
    with service.runtime.sessions() as session:
        return session.query(Export).filter(Export.id.in_(ids)).order_by(Export.id).all()


def test_workers_killed_at_random_lose_nothing_and_send_nothing_twice(
        settings: Settings, service: Service, owner: Owner, tmp_path: Path) -> None:
    chance = random.Random(20261128)  # seeded: a failure can be replayed
    with service.runtime.sessions() as session:
        seed_orders(session, owner.project.id, 3_000, seed=2)
        ids = [lifecycle.request(session, project=owner.project, user=owner.user, type_="orders",
                                 format_=("csv", "xlsx")[n % 2], columns=None).id for n in range(24)]
    for export_id in ids:
        service.tasks.dispatch_export(export_id)

    with smtp_server() as mail:
        env = settings_env(settings, CROWDEXPORTS_SMTP_URL=mail.url, CROWDEXPORTS_LEASE_SECONDS="1.5",
                           CROWDEXPORTS_HEARTBEAT_SECONDS="0.3", CROWDEXPORTS_SWEEP_SECONDS="0.3",
                           CROWDEXPORTS_REDISPATCH_AFTER_SECONDS="2", CROWDEXPORTS_MAX_ATTEMPTS="8",
                           CROWDEXPORTS_LOG_LEVEL="WARNING")
        workers: list[subprocess.Popen[bytes]] = []
        kills = 0
        try:
            for n in range(3):
                workers.append(start_cli(["worker", "--concurrency", "2"], env, tmp_path / f"w{n}.log"))
            deadline = time.monotonic() + 25
            while time.monotonic() < deadline:  # the nemesis: kill one worker at a random moment, restart it
                time.sleep(chance.uniform(0.2, 1.5))
                victim = chance.randrange(len(workers))
                os.killpg(workers[victim].pid, signal.SIGKILL)
                workers[victim].wait()
                kills += 1
                workers[victim] = start_cli(["worker", "--concurrency", "2"], env, tmp_path / f"w{victim}-{kills}.log")
            wait_for(lambda: all(row.status in TERMINAL and row.email_status not in ("pending", "sending")
                                 for row in _rows(service, ids)), timeout=180, interval=0.5)
        finally:
            for worker in workers:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()

    rows = _rows(service, ids)
    emails = Counter(delivered.message["Message-ID"] for delivered in mail.messages)
    assert kills >= 10
    assert max(emails.values()) == 1  # never two emails for one export
    for row in rows:
        assert row.status in ("succeeded", "failed"), (row.id, row.status)
        if row.status == "failed":
            assert "stopped" in (row.error or "")
        message_id = f"<export-{row.id}@testserver>"
        if row.email_status == "sent":
            assert emails[message_id] == 1
        else:  # killed inside the SMTP exchange: recorded as uncertain, never resent
            assert row.email_status == "unknown" and emails[message_id] <= 1
        if row.status == "succeeded":
            assert service.runtime.storage.keys(f"exports/{row.id}/") == [row.storage_key]
    assert sum(row.status == "succeeded" for row in rows) >= len(rows) - 2
    assert not list(service.runtime.storage.temp_dir().glob("*.part"))
    print(f"\nrandom SIGKILL: {kills} kills, {len(rows)} exports checked, {sum(emails.values())} emails, "
          f"{Counter(row.status for row in rows)}, attempts {Counter(row.attempt for row in rows)}")


def test_a_message_lost_between_commit_and_enqueue_is_dispatched_by_the_sweep(
        settings: Settings, service: Service, owner: Owner) -> None:
    def broker_down(export_id: int) -> None:
        raise ConnectionError("the broker is unreachable")  # the commit happened; the doorbell did not ring

    api = TestClient(create_app(service.runtime, broker_down))
    created = api.post(f"/v1/projects/{owner.project.id}/exports", headers=owner.headers,
                       json={"format": "csv", "type": "orders"})
    assert created.status_code == 201  # the row is the truth: the request succeeds
    export_id = created.json()["id"]
    assert service.tasks.huey.pending_count() == 0

    fast_sweep = build_service(settings.model_copy(update={"sweep_seconds": 0.2, "redispatch_after_seconds": 0.5}))
    worker = Worker(fast_sweep, concurrency=1)
    worker.start()
    try:
        wait_for(lambda: _rows(service, [export_id])[0].email_status == "sent", timeout=20)
    finally:
        worker.stop()
    assert _rows(service, [export_id])[0].status == "succeeded"


def test_an_smtp_server_that_refuses_connections_is_retried_then_recorded(
        settings: Settings, service: Service, owner: Owner) -> None:
    from crowdexports.exports.emailing import EmailOutcome, deliver_email
    from crowdexports.exports.runner import RunningExports, run_export
    from crowdexports.mail import from_url

    runtime = replace(service.runtime, mailer=from_url(f"smtp://127.0.0.1:{closed_port()}", settings.outbox_dir),
                      settings=settings.model_copy(update={"email_retries": 2, "email_backoff_seconds": 0.01}))
    with runtime.sessions() as session:
        export_id = lifecycle.request(session, project=owner.project, user=owner.user, type_="orders",
                                      format_="csv", columns=None).id
    run_export(runtime, RunningExports(), export_id)
    outcomes = []
    for _ in range(3):
        time.sleep(0.1)
        outcomes.append(deliver_email(runtime, export_id)[0])
    assert outcomes == [EmailOutcome.RETRY, EmailOutcome.RETRY, EmailOutcome.FAILED]
    row = _rows(service, [export_id])[0]
    assert row.status == "succeeded" and row.email_status == "failed" and row.email_attempts == 3

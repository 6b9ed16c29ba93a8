"""Scale-out faults against the real servers: Redis restarted with its data gone, PostgreSQL restarted
while the API serves and exports run. Nothing is lost, and nothing needs our processes restarted."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from crowdexports.api.app import create_app
from crowdexports.config import Settings
from crowdexports.exports import lifecycle
from crowdexports.models import Export
from crowdexports.runtime import Service
from crowdexports.seed import seed_orders
from crowdexports.worker.consumer import Worker
from tests.conftest import STACK
from tests.e2e.conftest import Owner, wait_for
from tests.servers.postgres import PostgresServer
from tests.servers.redis import RedisServer

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(STACK != "scaleout", reason="needs PostgreSQL and Redis: runs in make test's "
                                 "scale-out pass")]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A sweep, leases and heartbeats quick enough for the tests to see work found again after a restart."""
    return settings.model_copy(update={
        "sweep_seconds": 0.2, "redispatch_after_seconds": 0.5, "lease_seconds": 2.0, "heartbeat_seconds": 0.3})


def _row(service: Service, export_id: int) -> Export:
    with service.runtime.sessions() as session:
        return session.get_one(Export, export_id)


def test_redis_restarted_with_its_data_gone_loses_no_export(service: Service, owner: Owner,
                                                           redis_server: RedisServer) -> None:
    with service.runtime.sessions() as session:
        seed_orders(session, owner.project.id, 50, seed=9)
        ids = [lifecycle.request(session, project=owner.project, user=owner.user, type_="orders", format_="csv",
                                 columns=None).id for _ in range(5)]
    for export_id in ids:
        service.tasks.dispatch_export(export_id)
    assert service.tasks.huey.pending_count() == 5
    redis_server.restart()  # every message is gone
    assert service.tasks.huey.pending_count() == 0

    worker = Worker(service, concurrency=2)
    worker.start()
    try:
        wait_for(lambda: all(_row(service, i).email_status == "sent" for i in ids), timeout=30)
    finally:
        worker.stop()
    assert {(_row(service, i).status, _row(service, i).attempt) for i in ids} == {("succeeded", 1)}


def test_postgresql_restarted_under_the_api_and_a_running_export(
        service: Service, owner: Owner, postgres_server: PostgresServer) -> None:
    with service.runtime.sessions() as session:
        seed_orders(session, owner.project.id, 20_000, seed=9)
    api = TestClient(create_app(service.runtime, service.tasks.dispatch_export), raise_server_exceptions=False)
    worker = Worker(service, concurrency=1)
    worker.start()
    try:
        export_id = api.post(f"/v1/projects/{owner.project.id}/exports", headers=owner.headers,
                             json={"format": "xlsx", "type": "orders"}).json()["id"]
        wait_for(lambda: _row(service, export_id).rows_done > 0, timeout=60, interval=0.05)

        postgres_server.stop()
        down = api.get(f"/v1/exports/{export_id}", headers=owner.headers)
        assert down.status_code == 503 and down.json()["errors"][0]["classification"] == "ServiceUnavailableError"
        assert "Traceback" not in down.text
        assert api.get("/healthz").json()["database"] == "unavailable"
        postgres_server.start()

        wait_for(lambda: api.get("/healthz").status_code == 200, timeout=30)
        wait_for(lambda: _row(service, export_id).email_status == "sent", timeout=120, interval=0.2)
    finally:
        worker.stop()
    row = _row(service, export_id)
    assert row.status == "succeeded" and row.attempt >= 2  # the interrupted attempt was taken over
    assert api.get(f"/v1/exports/{export_id}", headers=owner.headers).json()["status"] == "succeeded"
    assert service.runtime.storage.keys(f"exports/{export_id}/") == [row.storage_key]

"""One Idempotency-Key sent at once to `crowdexports serve --workers 2`: two API processes, one database;
its unique constraint, not any process's memory, makes one export (issue 15)."""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from crowdexports.config import Settings
from crowdexports.models import Export, IdempotencyKey
from crowdexports.runtime import Service
from tests.e2e.conftest import Owner, free_port, settings_env, start_cli, wait_for

pytestmark = pytest.mark.slow
REQUESTS = 16


def _healthy(http: httpx.Client) -> bool:
    try:
        return http.get("/healthz").status_code == 200
    except httpx.TransportError:
        return False


def test_concurrent_requests_with_one_key_across_two_processes_make_one_export(
        settings: Settings, service: Service, owner: Owner, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_cli(["serve", "--port", str(port), "--workers", "2", "--no-worker"], settings_env(settings),
                       tmp_path / "serve.log")
    headers = owner.headers | {"Idempotency-Key": "one-key-two-processes"}

    def create(_: int) -> httpx.Response:
        with httpx.Client(base_url=base, timeout=30) as http:  # a connection each: both processes serve
            return http.post(f"/v1/projects/{owner.project.id}/exports", headers=headers,
                             json={"format": "csv", "type": "orders"})

    try:
        with httpx.Client(base_url=base, timeout=10) as http:
            wait_for(lambda: _healthy(http), timeout=30)
        with ThreadPoolExecutor(REQUESTS) as pool:
            answers = list(pool.map(create, range(REQUESTS)))
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=20) == 0, (tmp_path / "serve.log").read_text()[-3000:]
    assert sorted(answer.status_code for answer in answers) == [200] * (REQUESTS - 1) + [201], [
        answer.text for answer in answers if answer.status_code not in (200, 201)]
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert all(answer.headers.get("Idempotent-Replayed") == "true" for answer in answers if answer.status_code == 200)
    with service.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Export)) == 1
        assert session.scalar(select(func.count()).select_from(IdempotencyKey)) == 1

"""Many processes on one database: 2 API processes and 3 workers make 300 exports, each exactly once."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import httpx
import openpyxl
import pytest

from crowdexports.config import Settings
from crowdexports.models import Export
from crowdexports.runtime import Service
from crowdexports.seed import seed_orders
from tests.delivery.smtp_server import smtp_server
from tests.e2e.conftest import Owner, free_port, settings_env, start_cli, wait_for

pytestmark = pytest.mark.slow
EXPORTS = 300


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_two_apis_three_workers_300_exports_each_made_and_emailed_once(
        settings: Settings, service: Service, owner: Owner, tmp_path: Path) -> None:
    with service.runtime.sessions() as session:
        seed_orders(session, owner.project.id, 25, seed=11)
    with smtp_server() as mail:
        # One project's 300 exports queued at once: far over the per-project cap of a real owner (5).
        env = settings_env(settings, CROWDEXPORTS_SMTP_URL=mail.url, CROWDEXPORTS_LOG_LEVEL="WARNING",
                           CROWDEXPORTS_MAX_ACTIVE_EXPORTS_PER_PROJECT=str(EXPORTS))
        ports = [free_port(), free_port()]
        processes: list[subprocess.Popen[bytes]] = [
            *(start_cli(["serve", "--no-worker", "--port", str(port)], env, tmp_path / f"api{port}.log")
              for port in ports),
            *(start_cli(["worker", "--concurrency", "2"], env, tmp_path / f"worker{n}.log") for n in range(3)),
        ]
        try:
            bases = [f"http://127.0.0.1:{port}" for port in ports]
            for base in bases:
                wait_for(partial(_healthy, base), timeout=30)

            def create(n: int) -> int:
                response = httpx.post(f"{bases[n % 2]}/v1/projects/{owner.project.id}/exports",
                                      headers=owner.headers, json={"format": ("csv", "xlsx")[n % 2], "type": "orders"},
                                      timeout=30)
                assert response.status_code == 201, response.text
                return int(response.json()["id"])

            with ThreadPoolExecutor(max_workers=16) as pool:
                ids = list(pool.map(create, range(EXPORTS)))
            assert len(set(ids)) == EXPORTS

            def all_emailed() -> bool:
                with service.runtime.sessions() as session:
                    sent = session.query(Export).filter(Export.email_status == "sent").count()
                return sent == EXPORTS
            wait_for(all_emailed, timeout=240, interval=0.5)
            mail.wait_for(EXPORTS, timeout=10)
        finally:
            for process in processes:
                process.send_signal(signal.SIGINT)
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)

    emails_per_export = Counter(message.message["Message-ID"] for message in mail.messages)
    assert len(mail.messages) == EXPORTS and set(emails_per_export.values()) == {1}
    with service.runtime.sessions() as session:
        rows = session.query(Export).filter(Export.id.in_(ids)).all()
    assert Counter(row.status for row in rows) == {"succeeded": EXPORTS}
    assert {row.attempt for row in rows} == {1}
    expected_rows = rows[0].row_count
    assert expected_rows is not None
    for row in rows:
        assert row.row_count == expected_rows and row.storage_key is not None
        with service.runtime.storage.open(row.storage_key) as stored:
            content = stored.read()
        assert len(content) == row.size
        if row.format == "csv":
            assert len(list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))) == expected_rows + 1
        else:
            sheet = openpyxl.load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
            assert sum(1 for _ in sheet.iter_rows()) == expected_rows + 1

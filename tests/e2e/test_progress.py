"""Progress with an estimate, through the real path: API → Huey consumer → worker → heartbeat → API.

To hold the export in `processing` without depending on timing, the row stream waits at a gate after a
few rows: that gate, and a smaller progress batch (CHECK_EVERY_ROWS) so a few rows count, are the only
things patched. Everything else (claim, counting, heartbeat, the row and its resource) is the real code.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pytest
from fastapi.testclient import TestClient

from crowdexports.exports import pipeline
from crowdexports.runtime import Service
from crowdexports.seed import seed_orders
from tests.e2e.conftest import Owner, expected_row_count, wait_for

pytestmark = pytest.mark.slow  # a wired service with a real consumer

PAUSE_AT_ROW = 25


class Gate:
    """Stops the export's row stream after PAUSE_AT_ROW rows until opened."""

    def __init__(self) -> None:
        self.reached, self.opened = threading.Event(), threading.Event()

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        watch = pipeline.Progress.watch
        gate = self

        def gated(progress: pipeline.Progress, rows: Iterable[Sequence[object]]) -> Iterator[Sequence[object]]:
            for number, row in enumerate(watch(progress, rows), 1):
                if number == PAUSE_AT_ROW:
                    gate.reached.set()
                    assert gate.opened.wait(60), "the test never opened the gate"
                yield row

        monkeypatch.setattr(pipeline, "CHECK_EVERY_ROWS", 10)
        monkeypatch.setattr(pipeline.Progress, "watch", gated)


@pytest.mark.usefixtures("consumer")
def test_a_running_export_shows_rows_done_and_the_estimated_total(
        service: Service, client: TestClient, owner: Owner, monkeypatch: pytest.MonkeyPatch) -> None:
    with service.runtime.sessions() as session:
        seed_orders(session, owner.project.id, 60, seed=9)
    total = expected_row_count(service, owner.project.id)
    assert total > PAUSE_AT_ROW
    gate = Gate()
    gate.install(monkeypatch)
    try:
        created = client.post(f"/v1/projects/{owner.project.id}/exports", headers=owner.headers,
                              json={"format": "csv", "type": "orders"}).json()
        assert created["progress"] is None  # waiting: no progress yet
        assert gate.reached.wait(30), "the worker never reached the gate"

        def reported() -> dict[str, Any] | None:
            body = client.get(f"/v1/exports/{created['id']}", headers=owner.headers).json()
            progress = body["progress"]
            return body if progress and progress["rows_done"] and progress["rows_estimated"] else None
        paused = wait_for(reported, timeout=10)  # within a few heartbeats (0.2 s in tests)
        assert paused["status"] == "processing"
        assert paused["progress"]["rows_estimated"] == total
        assert 0 < paused["progress"]["rows_done"] <= total
    finally:
        gate.opened.set()

    def finished() -> dict[str, object] | None:
        body = client.get(f"/v1/exports/{created['id']}", headers=owner.headers).json()
        return body if body["status"] != "processing" and body["status"] != "waiting" else None
    done = wait_for(finished, timeout=30)
    assert done["status"] == "succeeded" and done["row_count"] == total and done["progress"] is None

"""Real processes: `crowdexports serve` over HTTP, and a worker killed with SIGKILL mid-export."""

from __future__ import annotations

import json
import os
import signal
from email import message_from_bytes, policy
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from crowdexports.config import Settings
from crowdexports.exports import lifecycle
from crowdexports.models import Export, ExportEvent
from crowdexports.runtime import Service
from crowdexports.seed import seed_orders
from tests.e2e.conftest import Owner, demo_export, free_port, run_cli, settings_env, start_cli, wait_for

pytestmark = pytest.mark.slow


def test_serve_demo_and_curl_walkthrough(settings: Settings, tmp_path: Path) -> None:
    """What a newcomer does: migrate, demo, serve, token, create, poll, download, read the outbox; on a
    port of their own, without CROWDEXPORTS_PUBLIC_URL, so the links must follow the port."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = settings_env(settings)
    del env["CROWDEXPORTS_PUBLIC_URL"]
    run_cli(["migrate"], env)
    run_cli(["migrate"], env)  # idempotent
    demo = json.loads(run_cli(["demo", "--json", "--orders", "40", "--base-url", base], env))
    assert {"username", "password", "client_id", "client_secret", "access_token", "project_id", "curl"} <= set(demo)
    assert f" {base}/v1/projects/{demo['project_id']}/exports " in demo["curl"]

    server = start_cli(["serve", "--port", str(port), "--workers", "2"], env, tmp_path / "serve.log")
    try:
        with httpx.Client(base_url=base, timeout=10) as http:
            wait_for(lambda: _healthy(http), timeout=30)
            headers, export_id = demo_export(http, demo, "csv")
            done = wait_for(lambda: _succeeded(http, headers, export_id), timeout=30)
            assert done["url"].startswith(f"{base}/v1/exports/{export_id}/download?")  # the port served on
            file = http.get(done["url"], follow_redirects=True)  # S3: on to a presigned URL
            assert file.status_code == 200 and file.content.decode("utf-8-sig").count("\n") >= 41
            listed = http.get(f"/v1/projects/{demo['project_id']}/exports", headers=headers).json()
            assert [e["id"] for e in listed["exports"]] == [export_id]
            outbox = settings.outbox_dir
            wait_for(lambda: list(outbox.glob("*.eml")), timeout=10)
            assert len(list(outbox.glob("*.eml"))) == 1
            email = message_from_bytes(next(outbox.glob("*.eml")).read_bytes(), policy=policy.default)
            text = email.get_body(("plain",))
            assert text is not None and f"{base}/v1/exports/{export_id}/download?" in text.get_content()
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=20) == 0, (tmp_path / "serve.log").read_text()[-3000:]


def _healthy(http: httpx.Client) -> bool:
    try:
        return http.get("/healthz").status_code == 200
    except httpx.TransportError:
        return False


def _succeeded(http: httpx.Client, headers: dict[str, str], export_id: int) -> dict[str, str] | None:
    body = http.get(f"/v1/exports/{export_id}", headers=headers).json()
    assert body["status"] in ("waiting", "processing", "succeeded"), body
    return body if body["status"] == "succeeded" else None


def test_worker_killed_mid_export_is_finished_after_restart_with_one_email(
        settings: Settings, service: Service, owner: Owner, tmp_path: Path) -> None:
    with service.runtime.sessions() as session:
        seed_orders(session, owner.project.id, 30_000, seed=3)
        export = lifecycle.request(session, project=owner.project, user=owner.user, type_="orders",
                                   format_="xlsx", columns=None)
    env = settings_env(settings, CROWDEXPORTS_LEASE_SECONDS="2", CROWDEXPORTS_SWEEP_SECONDS="0.5",
                       CROWDEXPORTS_HEARTBEAT_SECONDS="0.3")
    service.tasks.dispatch_export(export.id)

    first = start_cli(["worker", "--concurrency", "1"], env, tmp_path / "worker1.log")
    try:
        wait_for(lambda: _mid_export(service, export.id), timeout=60, interval=0.02)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    with service.runtime.sessions() as session:
        assert session.get_one(Export, export.id).status == "processing"  # killed before it could finish

    second = start_cli(["worker", "--concurrency", "1"], env, tmp_path / "worker2.log")
    try:
        def emailed() -> bool:
            with service.runtime.sessions() as session:
                return session.get_one(Export, export.id).email_status == "sent"
        wait_for(emailed, timeout=90, interval=0.1)
    finally:
        second.send_signal(signal.SIGINT)
        second.wait(timeout=30)

    with service.runtime.sessions() as session:
        row = session.get_one(Export, export.id)
        claims = session.scalar(select(func.count()).select_from(ExportEvent).where(
            ExportEvent.export_id == export.id, ExportEvent.kind == "claimed"))
    assert row.status == "succeeded" and row.attempt == 2 and claims == 2
    assert row.row_count is not None and row.row_count > 30_000
    assert len(list(settings.outbox_dir.glob("*.eml"))) == 1
    assert service.runtime.storage.keys(f"exports/{export.id}/") == [row.storage_key]
    assert not list(service.runtime.storage.temp_dir().glob("*.part"))  # the killed attempt's file is gone


def test_sigterm_hands_the_running_export_back_and_exits_cleanly(
        settings: Settings, service: Service, owner: Owner, tmp_path: Path) -> None:
    with service.runtime.sessions() as session:
        seed_orders(session, owner.project.id, 30_000, seed=3)
        export = lifecycle.request(session, project=owner.project, user=owner.user, type_="orders",
                                   format_="xlsx", columns=None)
    env = settings_env(settings, CROWDEXPORTS_SWEEP_SECONDS="0.5", CROWDEXPORTS_HEARTBEAT_SECONDS="0.3")
    service.tasks.dispatch_export(export.id)

    first = start_cli(["worker", "--concurrency", "1"], env, tmp_path / "worker1.log")
    try:
        wait_for(lambda: _mid_export(service, export.id), timeout=60, interval=0.02)
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=15) == 0, (tmp_path / "worker1.log").read_text()[-3000:]
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    with service.runtime.sessions() as session:
        row = session.get_one(Export, export.id)
        kinds = list(session.scalars(select(ExportEvent.kind).where(ExportEvent.export_id == export.id)
                                     .order_by(ExportEvent.id)))
    assert (row.status, row.attempt, row.lease_until) == ("waiting", 0, None), kinds
    assert kinds[-1] == "handed_back"
    log_lines = [json.loads(line) for line in (tmp_path / "worker1.log").read_text().splitlines()
                 if line.startswith("{")]
    assert any(line.get("export_id") == export.id and "handed back" in line["message"] for line in log_lines)
    assert not list(service.runtime.storage.temp_dir().glob("*.part"))

    second = start_cli(["worker", "--concurrency", "1"], env, tmp_path / "worker2.log")
    try:
        wait_for(lambda: _email_status(service, export.id) == "sent", timeout=90, interval=0.1)
    finally:
        second.send_signal(signal.SIGINT)
        assert second.wait(timeout=30) == 0
    with service.runtime.sessions() as session:
        row = session.get_one(Export, export.id)
    assert row.status == "succeeded" and row.attempt == 1
    assert len(list(settings.outbox_dir.glob("*.eml"))) == 1


def _mid_export(service: Service, export_id: int) -> bool:
    """Rows are being written and at least half remain: room for a signal to land before the end."""
    with service.runtime.sessions() as session:
        row = session.get_one(Export, export_id)
        return (row.status == "processing" and row.rows_done > 0 and row.rows_estimated is not None
                and row.rows_done < row.rows_estimated // 2)


def _email_status(service: Service, export_id: int) -> str:
    with service.runtime.sessions() as session:
        return session.get_one(Export, export_id).email_status

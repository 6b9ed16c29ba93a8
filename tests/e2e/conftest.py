"""End-to-end fixtures: the wired service on the selected stack's migrated database, a real Huey consumer,
subprocesses."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from crowdexports.api.app import create_app
from crowdexports.auth import accounts
from crowdexports.config import Settings
from crowdexports.database.migrate import upgrade
from crowdexports.models import Order, OrderItem, Project, User
from crowdexports.runtime import Service, build_service
from crowdexports.worker.consumer import Worker
from tests.conftest import stack_env

CLI = [sys.executable, "-m", "crowdexports.cli"]
T = TypeVar("T")


def wait_for(predicate: Callable[[], T | None], timeout: float = 20.0, interval: float = 0.05) -> T:
    """Poll until `predicate()` is truthy; fail the test with a clear message after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that makes a subprocess use the same data dir, stack and knobs as `settings`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CROWDEXPORTS_")}
    env.update(stack_env(settings))
    env.update({
        "CROWDEXPORTS_DATA_DIR": str(settings.resolved_data_dir),
        "CROWDEXPORTS_SECRET_KEY": settings.resolved_secret_key,
        "CROWDEXPORTS_PUBLIC_URL": settings.public_url,
        "CROWDEXPORTS_HEARTBEAT_SECONDS": str(settings.heartbeat_seconds),
        "CROWDEXPORTS_LEASE_SECONDS": str(settings.lease_seconds),
        "CROWDEXPORTS_SWEEP_SECONDS": str(settings.sweep_seconds),
        "CROWDEXPORTS_EMAIL_BACKOFF_SECONDS": str(settings.email_backoff_seconds),
    })
    if settings.smtp_url:
        env["CROWDEXPORTS_SMTP_URL"] = settings.smtp_url
    env.update(extra)
    return env


@pytest.fixture
def service(settings: Settings) -> Service:
    upgrade(settings.resolved_database_url)
    return build_service(settings)


@pytest.fixture
def consumer(service: Service) -> Iterator[None]:
    """A real Huey consumer (threads) and the sweeper, in this process, as `serve` runs them."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    worker = Worker(service, concurrency=2)
    worker.start()
    yield
    worker.stop()
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.fixture
def client(service: Service) -> TestClient:
    return TestClient(create_app(service.runtime, service.tasks.dispatch_export))


class Owner:
    """A project owner with a Bearer token, ready to call the API."""

    def __init__(self, service: Service, username: str = "owner", lang: str = "en") -> None:
        with service.runtime.sessions() as session:
            self.user: User = accounts.create_user(session, username=username, email=f"{username}@example.com",
                                                   password="correct horse battery", lang=lang,
                                                   first_name="Olga", last_name="Owner", name="Olga Owner")
            self.project: Project = accounts.create_project(session, owner=self.user, name="Solar Kettle")
            client_row, _, _ = accounts.create_client(session, "tests")
            tokens = accounts.issue_tokens(session, self.user, client_row, service.runtime.settings)
        self.headers = {"Authorization": f"Bearer {tokens['access_token']}"}


@pytest.fixture
def owner(service: Service) -> Owner:
    return Owner(service)


def start_cli(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen([*CLI, *args], env=env, stdout=handle, stderr=subprocess.STDOUT,
                            start_new_session=True)


def run_cli(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def demo_export(http: httpx.Client, demo: dict[str, str], format_: str) -> tuple[dict[str, str], int]:
    """As `demo`'s owner on a served API: a Bearer token by the password grant, then an export of the demo
    project in `format_`; its headers and the export's id."""
    token = http.post("/oauth2/token/", auth=(demo["client_id"], demo["client_secret"]),
                      data={"grant_type": "password", "username": demo["username"], "password": demo["password"]})
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    created = http.post(f"/v1/projects/{demo['project_id']}/exports", headers=headers,
                        json={"format": format_, "type": "orders"})
    assert created.status_code == 201, created.text
    return headers, int(created.json()["id"])


def expected_row_count(service: Service, project_id: int) -> int:
    """Rows the orders export must have: one per item, plus one per order without items (counted in SQL)."""
    with service.runtime.sessions() as session:
        items = session.scalar(select(func.count()).select_from(OrderItem).join(Order)
                               .where(Order.project_id == project_id))
        itemless = session.scalar(select(func.count()).select_from(Order).where(
            Order.project_id == project_id, ~Order.id.in_(select(OrderItem.order_id))))
    return int(items or 0) + int(itemless or 0)

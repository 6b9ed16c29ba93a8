"""The page in a real browser: Debian's Chromium (launched by its path: Playwright's own browser download
is not reachable here) driven by pytest-playwright, against the real app served over HTTP by uvicorn on a
free loopback port, with a real Huey consumer making the exports (the fixtures of tests/e2e)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Page

from crowdexports.api.app import create_app
from crowdexports.config import Settings
from crowdexports.runtime import Service
from crowdexports.seed import seed_orders
from tests.e2e import conftest as e2e
from tests.e2e.conftest import free_port, wait_for
from tests.web.conftest import PASSWORD, Person, make_person

CHROMIUM = "/usr/bin/chromium"
README_IMAGES = Path(__file__).parents[3] / "docs" / "images"
service, consumer = e2e.service, e2e.consumer  # the wired service and a real Huey consumer, as fixtures here


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM}


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where the tests put their screenshots: the README's images under `make screenshots`
    (CROWDEXPORTS_SCREENSHOTS=1), else a temporary folder, so a test run leaves the clone unchanged."""
    return README_IMAGES if os.environ.get("CROWDEXPORTS_SCREENSHOTS") == "1" else tmp_path


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(tmp_path: Path, stack_overrides: dict[str, Any], port: int) -> Settings:
    """As tests/conftest.py's, with the links given out naming the served address."""
    return Settings(_env_file=None, data_dir=tmp_path / "data", secret_key="test-secret-key-0123456789abcdef",
                    public_url=f"http://127.0.0.1:{port}", heartbeat_seconds=0.2, email_backoff_seconds=0.05,
                    **stack_overrides)


@pytest.fixture
def served(service: Service, port: int) -> Iterator[str]:
    """The app (API and page) served by uvicorn in a thread of this process."""
    app = create_app(service.runtime, service.tasks.dispatch_export)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=20)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=20)


@pytest.fixture
def olga(service: Service) -> Person:
    """An owner whose project has 120 orders (enough rows for the progress test to pause within)."""
    with service.runtime.sessions() as session:
        person = make_person(session, "olga")
        assert person.project is not None
        seed_orders(session, person.project.id, 120, seed=4)
        return person


def sign_in(page: Page, served: str, username: str) -> None:
    page.goto(f"{served}/web/signin")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{served}/web/projects")

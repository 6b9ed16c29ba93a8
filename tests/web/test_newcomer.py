"""A newcomer finds the page: `crowdexports demo` names it and prints a username and password that sign
in there, and `make run` prints its address."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from crowdexports.cli.main import app
from crowdexports.config import Settings
from tests.conftest import stack_env
from tests.web.conftest import sign_in

ROOT = Path(__file__).parents[2]


def test_the_demos_username_and_password_sign_in_on_the_page(settings: Settings,
                                                            request: pytest.FixtureRequest) -> None:
    cli = CliRunner(env={"CROWDEXPORTS_DATA_DIR": str(settings.data_dir),
                         "CROWDEXPORTS_SECRET_KEY": "test-secret-key-0123456789abcdef", **stack_env(settings),
                         "CROWDEXPORTS_DATABASE_URL": settings.resolved_database_url})
    result = cli.invoke(app, ["demo", "--orders", "2", "--base-url", "http://127.0.0.1:8011", "--json"])
    assert result.exit_code == 0, result.output
    demo = json.loads(result.stdout.strip().splitlines()[-1])
    assert demo["page"] == "http://127.0.0.1:8011/web/"
    client: TestClient = request.getfixturevalue("client")  # the app over the database the demo migrated
    assert sign_in(client, demo["username"], demo["password"]).status_code == 303
    assert f"/web/projects/{demo['project_id']}" in client.get("/web/projects").text


def test_make_run_prints_the_pages_address() -> None:
    dry = subprocess.run(["make", "-n", "run", "PORT=8011", "HOST=0.0.0.0"], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert "The page: http://127.0.0.1:8011/web/" in dry.stdout

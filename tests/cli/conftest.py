"""The `crowdexports` command run in-process (Typer's runner) against the selected stack's database."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from crowdexports.cli.main import app
from crowdexports.config import Settings
from tests.conftest import stack_env


@pytest.fixture
def cli(settings: Settings) -> CliRunner:
    return CliRunner(env={"CROWDEXPORTS_DATA_DIR": str(settings.data_dir),
                          "CROWDEXPORTS_SECRET_KEY": "test-secret-key-0123456789abcdef", **stack_env(settings)})


def run_json(cli: CliRunner, *args: str) -> dict[str, Any]:
    """The one JSON object a command prints with `--json`; the command must succeed."""
    result = cli.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer

"""`crowdexports presets list|create|delete` and `exports run --preset` (issue 15, point 2), in-process
against the selected stack's database."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from crowdexports.cli.main import app
from tests.cli.conftest import run_json

SETTINGS = {"type": "orders", "format": "csv", "columns": {"order.id": "Order", "order.total": "Paid"},
            "csv_dialect": "excel_eu"}


@pytest.fixture
def project(cli: CliRunner) -> dict[str, Any]:
    assert cli.invoke(app, ["migrate"]).exit_code == 0
    run_json(cli, "users", "create", "--username", "ann", "--email", "ann@example.com", "--password", "pw-pw-pw-pw")
    made = run_json(cli, "projects", "create", "--owner", "ann", "--name", "Kettle")
    run_json(cli, "orders", "seed", "--project", str(made["id"]), "--count", "30", "--seed", "4")
    return made


def test_presets_are_created_listed_used_and_deleted(cli: CliRunner, project: dict[str, Any],
                                                     tmp_path: Path) -> None:
    project_id = str(project["id"])
    made = run_json(cli, "presets", "create", "--project", project_id, "--name", "Monthly", "--settings",
                    json.dumps(SETTINGS))
    assert made["name"] == "Monthly" and made["settings"] == SETTINGS
    assert run_json(cli, "presets", "list", "--project", project_id)["export_presets"] == [made]
    out = tmp_path / "orders.csv"
    written = run_json(cli, "exports", "run", "--project", project_id, "--preset", str(made["id"]), "--out", str(out))
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    assert rows[0] == ["Order", "Paid"] and len(rows) - 1 == written["rows"] >= 30
    # An option given overrides the preset's: the same columns, in an xlsx file (no csv dialect then).
    xlsx = tmp_path / "orders.xlsx"
    result = cli.invoke(app, ["exports", "run", "--project", project_id, "--preset", str(made["id"]), "--format",
                              "xlsx", "--out", str(xlsx)])
    assert result.exit_code == 1 and "preset" in result.output and "csv_dialect" in result.output
    plain = run_json(cli, "presets", "create", "--project", project_id, "--name", "Plain", "--settings",
                     json.dumps({**SETTINGS, "csv_dialect": None}))
    run_json(cli, "exports", "run", "--project", project_id, "--preset", str(plain["id"]), "--format", "xlsx",
             "--out", str(xlsx))
    assert xlsx.read_bytes()[:2] == b"PK"
    assert run_json(cli, "presets", "delete", "--id", str(made["id"]))["id"] == made["id"]
    assert [p["name"] for p in run_json(cli, "presets", "list", "--project", project_id)["export_presets"]] == ["Plain"]


@pytest.mark.parametrize("args", [
    ["--name", "x", "--settings", "{"], ["--name", "x", "--settings", "[]"],
    ["--name", "x", "--settings", '{"type": "orders"}'], ["--name", "x", "--settings", '{"format": "csv", "x": 1}'],
    ["--name", "", "--settings", '{"type": "orders", "format": "csv"}'],
    ["--name", "a\nb", "--settings", '{"type": "orders", "format": "csv"}'],
])
def test_bad_presets_are_one_line_errors(cli: CliRunner, project: dict[str, Any], args: list[str]) -> None:
    result = cli.invoke(app, ["presets", "create", "--project", str(project["id"]), *args])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert run_json(cli, "presets", "list", "--project", str(project["id"]))["export_presets"] == []


def test_unknown_ids_are_one_line_errors(cli: CliRunner, project: dict[str, Any]) -> None:
    for args in (["presets", "delete", "--id", "999"], ["presets", "list", "--project", "999"],
                 ["exports", "run", "--project", str(project["id"]), "--preset", "999", "--out", "x.csv"],
                 ["exports", "run", "--project", str(project["id"]), "--out", "x.csv"]):
        result = cli.invoke(app, args)
        assert result.exit_code == 1 and "Traceback" not in result.output, (args, result.output)

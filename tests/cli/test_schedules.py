"""`crowdexports schedules list|add|show|pause|resume|remove|runs` (issue 17, point 2), in-process against
the selected stack's database: the API's rules (schedules.store), one-line errors."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from typer.testing import CliRunner

from crowdexports.cli.main import app
from crowdexports.config import Settings
from crowdexports.rules import schedules
from crowdexports.runtime import build_service
from crowdexports.schedules.firing import fire
from tests.cli.conftest import run_json


@pytest.fixture
def project(cli: CliRunner) -> dict[str, Any]:
    assert cli.invoke(app, ["migrate"]).exit_code == 0
    run_json(cli, "users", "create", "--username", "ann", "--email", "ann@example.com", "--password", "pw-pw-pw-pw",
             "--lang", "fr")
    return run_json(cli, "projects", "create", "--owner", "ann", "--name", "Kettle")


def test_a_schedule_is_added_listed_shown_paused_resumed_and_removed(cli: CliRunner,
                                                                     project: dict[str, Any]) -> None:
    project_id = str(project["id"])
    made = run_json(cli, "schedules", "add", "--project", project_id, "--rule", "weekly", "--at", "09:00",
                    "--weekday", "monday", "--format", "csv", "--type", "orders", "--changes-only")
    assert (made["rule"], made["at"], made["weekday"], made["changes_only"], made["paused"]) == (
        "weekly", "09:00", "monday", True, False)
    assert made["settings"] == {"format": "csv", "type": "orders"} and made["next_run"] is not None
    assert run_json(cli, "schedules", "list", "--project", project_id)["export_schedules"] == [made]
    listed = cli.invoke(app, ["schedules", "list", "--project", project_id])
    assert f"{made['id']} every Monday at 09:00 (" in listed.output and "next run" in listed.output
    schedule_id = str(made["id"])
    assert run_json(cli, "schedules", "show", "--id", schedule_id) == made
    paused = run_json(cli, "schedules", "pause", "--id", schedule_id)
    assert (paused["paused"], paused["next_run"]) == (True, None)
    assert "paused" in cli.invoke(app, ["schedules", "show", "--id", schedule_id]).output
    assert run_json(cli, "schedules", "resume", "--id", schedule_id)["next_run"] == made["next_run"]
    assert run_json(cli, "schedules", "remove", "--id", schedule_id)["id"] == made["id"]
    assert run_json(cli, "schedules", "list", "--project", project_id)["export_schedules"] == []


def test_a_schedule_may_name_a_preset_or_settings(cli: CliRunner, project: dict[str, Any]) -> None:
    project_id = str(project["id"])
    preset = run_json(cli, "presets", "create", "--project", project_id, "--name", "M", "--settings",
                      json.dumps({"type": "orders", "format": "xlsx"}))
    by_preset = run_json(cli, "schedules", "add", "--project", project_id, "--rule", "monthly", "--at", "06:00",
                         "--day", "31", "--preset", str(preset["id"]))
    assert by_preset["settings"] == {"preset": preset["id"]}
    by_cron = run_json(cli, "schedules", "add", "--project", project_id, "--rule", "cron", "--cron", "0 6 * * 1",
                       "--settings", json.dumps({"type": "orders", "format": "csv", "csv_dialect": "excel_eu"}))
    assert by_cron["cron"] == "0 6 * * 1" and by_cron["settings"]["csv_dialect"] == "excel_eu"


@pytest.mark.parametrize(("args", "said"), [
    (["--rule", "hourly", "--format", "csv"], "rule:"),
    (["--rule", "daily", "--format", "csv"], "at: is required"),
    (["--rule", "daily", "--at", "25:00", "--format", "csv"], "at:"),
    (["--rule", "daily", "--at", "02:30", "--day", "3", "--format", "csv"], "day: is not part of a daily rule"),
    (["--rule", "cron", "--cron", "* * * * *", "--format", "csv"], "cron:"),
    (["--rule", "daily", "--at", "02:30"], "settings.format: is required"),
    (["--rule", "daily", "--at", "02:30", "--format", "pdf"], "settings.format:"),
    (["--rule", "daily", "--at", "02:30", "--settings", "{"], "settings: not JSON"),
    (["--rule", "daily", "--at", "02:30", "--preset", "999"], "settings.preset:"),
])
def test_bad_schedules_are_one_line_errors_as_the_apis(cli: CliRunner, project: dict[str, Any], args: list[str],
                                                       said: str) -> None:
    result = cli.invoke(app, ["schedules", "add", "--project", str(project["id"]), *args])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert said in result.output
    assert run_json(cli, "schedules", "list", "--project", str(project["id"]))["export_schedules"] == []


def test_the_owners_cap_holds_on_the_command_line(cli: CliRunner, project: dict[str, Any],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schedules, "MAX_PER_OWNER", 1)
    add = ["schedules", "add", "--project", str(project["id"]), "--rule", "daily", "--at", "02:30", "--format", "csv"]
    run_json(cli, *add)
    result = cli.invoke(app, add)
    assert result.exit_code == 1 and "as many as you may" in result.output, result.output


def test_runs_are_listed_newest_first(cli: CliRunner, settings: Settings, project: dict[str, Any]) -> None:
    made = run_json(cli, "schedules", "add", "--project", str(project["id"]), "--rule", "daily", "--at", "02:30",
                    "--format", "csv")
    assert "has not run yet" in cli.invoke(app, ["schedules", "runs", "--id", str(made["id"])]).output
    service = build_service(settings)
    with service.runtime.sessions() as session:
        run = fire(session, made["id"], datetime.fromisoformat(made["next_run"]), service.runtime, lambda _: None)
        assert run is not None and run.export_id is not None
    listed = run_json(cli, "schedules", "runs", "--id", str(made["id"]))["runs"]
    assert [(item["slot"], item["export_id"], item["export_status"]) for item in listed] == [
        (made["next_run"], run.export_id, "waiting")]
    assert f"export {run.export_id} waiting" in cli.invoke(app, ["schedules", "runs", "--id", str(made["id"])]).output


def test_unknown_ids_are_one_line_errors(cli: CliRunner, project: dict[str, Any]) -> None:
    for args in (["list", "--project", "999"], ["show", "--id", "999"], ["pause", "--id", "0"],
                 ["resume", "--id", "999"], ["remove", "--id", "999"], ["runs", "--id", "999"],
                 ["add", "--project", "999", "--rule", "daily", "--at", "02:30", "--format", "csv"]):
        result = cli.invoke(app, ["schedules", *args])
        assert result.exit_code == 1 and "does not exist" in result.output, (args, result.output)



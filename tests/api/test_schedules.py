"""Export schedules (issue 17, points 2 and 3): created from settings or a preset with a rule read in the
project's time zone, listed, shown with their next run, replaced, paused, resumed and deleted; the owner
writes, staff read, others see nothing; bad bodies are 400 with fieldNames; an owner's schedules are capped."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crowdexports.models import ExportSchedule, Project
from crowdexports.rules import schedules
from crowdexports.runtime import Runtime
from crowdexports.schedules import timing
from crowdexports.schedules.firing import fire
from crowdexports.schedules.store import rule_of
from tests.api.conftest import Account
from tests.factories import make_project

SETTINGS = {"type": "orders", "format": "csv"}
DAILY = {"rule": "daily", "at": "02:30", "settings": SETTINGS}


def post(client: TestClient, project: Project, account: Account, body: Any) -> httpx.Response:
    return client.post(f"/v1/projects/{project.id}/export-schedules", json=body, headers=account.bearer)


def made(client: TestClient, project: Project, account: Account, body: Any = None) -> dict[str, Any]:
    response = post(client, project, account, DAILY if body is None else body)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def errors(response: httpx.Response) -> list[tuple[str, list[str]]]:
    assert response.status_code == 400, response.text
    return [(error["classification"], error["fieldNames"]) for error in response.json()["errors"]]


def test_a_schedule_is_made_listed_shown_replaced_and_deleted(client: TestClient, alice: Account,
                                                              project_a: Project) -> None:
    schedule = made(client, project_a, alice)
    assert (schedule["rule"], schedule["at"], schedule["settings"], schedule["paused"]) == (
        "daily", "02:30", SETTINGS, False)
    assert schedule["timezone"] == project_a.timezone and schedule["owner_id"] == alice.user.id
    url = f"/v1/export-schedules/{schedule['id']}"
    assert client.get(url, headers=alice.bearer).json() == schedule
    listed = client.get(f"/v1/projects/{project_a.id}/export-schedules", headers=alice.bearer).json()
    assert [item["id"] for item in listed["export_schedules"]] == [schedule["id"]]
    weekly = {"rule": "weekly", "at": "09:00", "weekday": "monday", "settings": SETTINGS, "changes_only": True}
    replaced = client.put(url, json=weekly, headers=alice.bearer)
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["rule"], replaced.json()["weekday"], replaced.json()["changes_only"]) == (
        "weekly", "monday", True)
    assert datetime.fromisoformat(replaced.json()["next_run"]).astimezone(ZoneInfo(project_a.timezone)).weekday() == 0
    assert client.delete(url, headers=alice.bearer).status_code == 204
    assert client.get(url, headers=alice.bearer).status_code == 404


def test_the_next_run_is_the_rules_next_slot_in_the_projects_time_zone(
        client: TestClient, session: Session, alice: Account, project_a: Project) -> None:
    schedule = made(client, project_a, alice, {"rule": "monthly", "at": "06:00", "day": 31, "settings": SETTINGS})
    row = session.get_one(ExportSchedule, schedule["id"])
    next_run = datetime.fromisoformat(schedule["next_run"])
    assert next_run == timing.next_run(rule_of(row), project_a.timezone, row.created_at)
    local = next_run.astimezone(ZoneInfo(project_a.timezone))
    assert (local.hour, local.minute) == (6, 0)


def test_pause_and_resume(client: TestClient, alice: Account, project_a: Project) -> None:
    schedule = made(client, project_a, alice, {"rule": "cron", "cron": "0 6 * * 1", "settings": SETTINGS})
    url = f"/v1/export-schedules/{schedule['id']}"
    paused = client.post(f"{url}/pause", headers=alice.bearer)
    assert paused.status_code == 200, paused.text
    assert (paused.json()["paused"], paused.json()["next_run"]) == (True, None)
    assert client.post(f"{url}/pause", headers=alice.bearer).json()["paused"] is True
    resumed = client.post(f"{url}/resume", headers=alice.bearer).json()
    assert resumed["paused"] is False and resumed["next_run"] == schedule["next_run"]


def test_a_schedule_may_name_a_preset(client: TestClient, alice: Account, project_a: Project) -> None:
    preset = client.post(f"/v1/projects/{project_a.id}/export-presets", json={"name": "M", "settings": SETTINGS},
                         headers=alice.bearer).json()
    assert made(client, project_a, alice, {**DAILY, "settings": {"preset": preset["id"]}})["settings"] == {
        "preset": preset["id"]}
    missing = post(client, project_a, alice, {**DAILY, "settings": {"preset": preset["id"] + 100}})
    assert errors(missing) == [("ValueError", ["settings", "preset"])]


def test_staff_read_others_see_nothing_and_only_the_owner_writes(
        client: TestClient, alice: Account, bob: Account, staff: Account, project_a: Project) -> None:
    schedule = made(client, project_a, alice)
    url = f"/v1/export-schedules/{schedule['id']}"
    assert client.get(url, headers=staff.bearer).status_code == 200
    assert client.get(f"/v1/projects/{project_a.id}/export-schedules", headers=staff.bearer).status_code == 200
    assert client.get(url, headers=bob.bearer).status_code == 404
    assert client.get(f"/v1/projects/{project_a.id}/export-schedules", headers=bob.bearer).status_code == 404
    assert post(client, project_a, bob, DAILY).status_code == 404
    assert client.delete(url, headers=bob.bearer).status_code == 404
    assert post(client, project_a, staff, DAILY).status_code == 403
    assert client.post(f"{url}/pause", headers=staff.bearer).status_code == 403
    assert client.delete(url, headers=alice.apikey).status_code == 403  # writes need a Bearer token
    assert client.get(url, headers=alice.bearer).json()["paused"] is False


BAD_BODIES = [
    ("no rule", {"at": "02:30", "settings": SETTINGS}, [("RequiredError", ["rule"])]),
    ("unknown rule", {**DAILY, "rule": "hourly"}, [("ValueError", ["rule"])]),
    ("no time", {"rule": "daily", "settings": SETTINGS}, [("RequiredError", ["at"])]),
    ("bad time", {**DAILY, "at": "24:00"}, [("ValueError", ["at"])]),
    ("no weekday", {**DAILY, "rule": "weekly"}, [("RequiredError", ["weekday"])]),
    ("bad weekday", {**DAILY, "rule": "weekly", "weekday": "funday"}, [("ValueError", ["weekday"])]),
    ("day 32", {**DAILY, "rule": "monthly", "day": 32}, [("ValueError", ["day"])]),
    ("a day for a daily rule", {**DAILY, "day": 3}, [("UnknownFieldError", ["day"])]),
    ("a time for cron", {**DAILY, "rule": "cron", "cron": "0 6 * * *"}, [("UnknownFieldError", ["at"])]),
    ("every minute", {"rule": "cron", "cron": "* * * * *", "settings": SETTINGS}, [("ValueError", ["cron"])]),
    ("not cron", {"rule": "cron", "cron": "0 6 * *", "settings": SETTINGS}, [("ValueError", ["cron"])]),
    ("never", {"rule": "cron", "cron": "0 0 30 2 *", "settings": SETTINGS}, [("ValueError", ["cron"])]),
    ("no settings", {"rule": "daily", "at": "02:30"}, [("RequiredError", ["settings"])]),
    ("bad settings", {**DAILY, "settings": {"type": "orders", "format": "pdf"}},
     [("ValueError", ["settings", "format"])]),
    ("changes twice", {**DAILY, "changes_only": True, "settings": {**SETTINGS, "changes_since": "last"}},
     [("ValueError", ["settings", "changes_since"])]),
    ("read-only", {**DAILY, "next_run": "2027-01-01T00:00:00Z"}, [("PermissionError", ["next_run"])]),
    ("unknown", {**DAILY, "every": 2}, [("UnknownFieldError", ["every"])]),
]


@pytest.mark.parametrize(("body", "expected"), [case[1:] for case in BAD_BODIES], ids=[case[0] for case in BAD_BODIES])
def test_bad_bodies_are_400_naming_the_fields(client: TestClient, alice: Account, project_a: Project,
                                              body: dict[str, Any], expected: list[tuple[str, list[str]]]) -> None:
    assert errors(post(client, project_a, alice, body)) == expected


def test_an_owner_has_at_most_so_many_schedules_all_projects_together(
        client: TestClient, session: Session, alice: Account, project_a: Project,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schedules, "MAX_PER_OWNER", 2)
    other = make_project(session, alice.user, "Another")
    made(client, project_a, alice)
    made(client, other, alice)
    refused = post(client, project_a, alice, DAILY)
    assert refused.status_code == 409, refused.text
    counts = [len(client.get(f"/v1/projects/{project.id}/export-schedules", headers=alice.bearer)
                  .json()["export_schedules"]) for project in (project_a, other)]
    assert counts == [1, 1]


def test_a_schedules_runs_are_listed_newest_first_with_the_exports_status_or_why_none_was_made(
        client: TestClient, session: Session, runtime: Runtime, alice: Account, bob: Account, staff: Account,
        project_a: Project) -> None:
    preset = client.post(f"/v1/projects/{project_a.id}/export-presets", json={"name": "M", "settings": SETTINGS},
                         headers=alice.bearer).json()
    schedule = made(client, project_a, alice, {**DAILY, "settings": {"preset": preset["id"]}})
    runs_url = f"/v1/export-schedules/{schedule['id']}/runs"
    assert client.get(runs_url, headers=alice.bearer).json() == {"runs": []}
    first = datetime.fromisoformat(schedule["next_run"])
    assert fire(session, schedule["id"], first, runtime, lambda _: None) is not None
    client.delete(f"/v1/export-presets/{preset['id']}", headers=alice.bearer)
    second = first + timedelta(days=1)
    assert fire(session, schedule["id"], second, runtime, lambda _: None) is not None
    answer = client.get(runs_url, headers=alice.bearer)
    assert answer.status_code == 200, answer.text
    listed = answer.json()["runs"]
    assert [datetime.fromisoformat(run["slot"]) for run in listed] == [second, first]
    refused, ran = listed
    assert (refused["export_id"], refused["export_status"]) == (None, None)
    assert refused["error"].startswith(f"preset: export preset {preset['id']} does not exist")
    assert ran["export_status"] == "waiting" and ran["error"] is None
    assert client.get(f"/v1/exports/{ran['export_id']}", headers=alice.bearer).status_code == 200
    assert client.get(runs_url, headers=staff.bearer).json() == answer.json()
    assert client.get(runs_url, headers=bob.bearer).status_code == 404

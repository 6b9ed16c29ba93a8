"""Schedules on the project's page (issue 17, point 2): listed with the rule in words, the zone, the next
run, the paused state and the latest runs (a refused slot says why); added from a form through the API's own
check (a refused one comes back with why), paused, resumed, deleted with the form's token; in English and
French; only the owner writes, staff read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from crowdexports.models import ExportPreset, ExportSchedule, ExportScheduleRun, Project
from crowdexports.rules import schedules
from tests.web.conftest import Person, csrf_of, make_person, project_of, sign_in

WEEKLY = {"rule": "weekly", "at": "09:15", "weekday": "monday", "day": "1", "cron": "", "settings_preset": "",
          "settings_format": "xlsx"}


def _post(client: TestClient, project: Project, path: str, **fields: Any) -> Response:
    token = csrf_of(client.get(f"/web/projects/{project.id}"))
    return client.post(f"/web/projects/{project.id}{path}", data={"csrf": token, **fields}, follow_redirects=False)


def _only(session: Session) -> ExportSchedule:
    session.expire_all()
    return session.scalars(select(ExportSchedule)).one()


def test_a_schedule_is_added_from_the_form_and_listed_in_words(signed_in: TestClient, olga: Person,
                                                               session: Session) -> None:
    project = project_of(olga)
    assert "No schedules yet" in signed_in.get(f"/web/projects/{project.id}").text
    added = _post(signed_in, project, "/schedules", **WEEKLY, changes_only="yes")
    assert added.status_code == 303, added.text
    assert added.headers["location"] == f"/web/projects/{project.id}?notice=schedule-added#schedules-title"
    schedule = _only(session)
    assert (schedule.rule, schedule.local_time, schedule.weekday, schedule.day, schedule.cron) == (
        "weekly", "09:15", 0, None, None)  # the other rules' fields of the form are left out
    assert schedule.settings == {"type": "orders", "format": "xlsx"} and schedule.changes_only
    page = signed_in.get(added.headers["location"]).text
    assert "The schedule is saved" in page and "every Monday at 09:15" in page
    assert "Europe/Paris" in page and "Next run: " in page and "No run yet." in page


def test_a_schedule_may_use_a_preset_or_a_cron_expression(signed_in: TestClient, olga: Person,
                                                          session: Session) -> None:
    project = project_of(olga)
    preset = ExportPreset(project_id=project.id, name="Monthly", settings={"type": "orders", "format": "csv"})
    session.add(preset)
    session.commit()
    page = signed_in.get(f"/web/projects/{project.id}").text
    assert f'<option value="{preset.id}">The preset Monthly</option>' in page
    added = _post(signed_in, project, "/schedules", **{**WEEKLY, "rule": "cron", "cron": "0 6 * * 1",
                                                       "settings_preset": str(preset.id)})
    assert added.status_code == 303, added.text
    schedule = _only(session)
    assert (schedule.rule, schedule.cron, schedule.local_time, schedule.settings) == (
        "cron", "0 6 * * 1", None, {"preset": preset.id})
    page = signed_in.get(f"/web/projects/{project.id}").text
    assert "at the times of the cron expression 0 6 * * 1</span>,\nwith the preset “Monthly”." in page


def test_a_refused_schedule_comes_back_with_why_and_saves_nothing(signed_in: TestClient, olga: Person,
                                                                  session: Session,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    project = project_of(olga)
    refused = _post(signed_in, project, "/schedules", **{**WEEKLY, "rule": "cron", "cron": "* * * * *"})
    assert refused.status_code == 400 and "The schedule was not saved:" in refused.text
    assert "cron: must be a cron expression" in refused.text
    monthly = _post(signed_in, project, "/schedules", **{**WEEKLY, "rule": "monthly", "day": "32"})
    assert monthly.status_code == 400 and "day: " in monthly.text
    assert session.scalars(select(ExportSchedule)).first() is None
    monkeypatch.setattr(schedules, "MAX_PER_OWNER", 0)
    capped = _post(signed_in, project, "/schedules", **WEEKLY)
    assert capped.status_code == 409 and "as many as you may" in capped.text


def test_pause_resume_and_delete_need_the_forms_token(signed_in: TestClient, olga: Person, session: Session) -> None:
    project = project_of(olga)
    assert _post(signed_in, project, "/schedules", **WEEKLY).status_code == 303
    schedule_id = _only(session).id
    path = f"/schedules/{schedule_id}"
    forged = signed_in.post(f"/web/projects/{project.id}{path}/pause", data={"csrf": "forged"},
                            follow_redirects=False)
    assert forged.status_code != 303 and not _only(session).paused
    paused = _post(signed_in, project, f"{path}/pause")
    assert paused.status_code == 303 and paused.headers["location"].endswith("?notice=schedule-paused#schedules-title")
    assert _only(session).paused and _only(session).next_run_at is None
    page = signed_in.get(f"/web/projects/{project.id}").text
    assert "Paused" in page and f"{path}/resume" in page and "Next run: " not in page
    assert _post(signed_in, project, f"{path}/resume").status_code == 303
    assert not _only(session).paused and _only(session).next_run_at is not None
    assert _post(signed_in, project, f"{path}/delete").status_code == 303
    session.expire_all()
    assert session.scalars(select(ExportSchedule)).first() is None
    assert _post(signed_in, project, f"{path}/delete").status_code == 404
    assert _post(signed_in, project, f"/schedules/{10**20}/pause").status_code == 404
    huge = _post(signed_in, project, "/schedules", **{**WEEKLY, "settings_preset": str(10**20), "day": str(10**20)})
    assert huge.status_code == 400 and "settings.preset: " in huge.text


def test_latest_runs_show_the_exports_status_or_why_the_slot_was_refused(signed_in: TestClient, olga: Person,
                                                                         session: Session) -> None:
    project = project_of(olga)
    assert _post(signed_in, project, "/schedules", **WEEKLY).status_code == 303
    schedule = _only(session)
    session.add(ExportScheduleRun(schedule_id=schedule.id, slot=datetime(2027, 1, 4, 8, 15, tzinfo=UTC),
                                  error="preset: export preset 9 does not exist in project 1"))
    session.commit()
    page = signed_in.get(f"/web/projects/{project.id}").text
    assert "no export: its settings were refused (preset: export preset 9 does not exist" in page
    assert "No run yet." not in page


def test_in_french(client: TestClient, session: Session) -> None:
    person = make_person(session, "odile", lang="fr")
    assert sign_in(client, "odile").status_code == 303
    assert _post(client, project_of(person), "/schedules", **WEEKLY).status_code == 303
    page = client.get(f"/web/projects/{project_of(person).id}").text
    assert "Programmations" in page and "chaque lundi à 09:15" in page and "Prochaine exécution" in page


def test_staff_see_the_schedules_without_the_forms_and_others_cannot_change_them(
        client: TestClient, olga: Person, boris: Person, session: Session) -> None:
    assert sign_in(client, "olga").status_code == 303
    assert _post(client, project_of(olga), "/schedules", **WEEKLY).status_code == 303
    schedule_id = _only(session).id
    client.cookies.clear()
    make_person(session, "stella", is_staff=True, project=None)
    assert sign_in(client, "stella").status_code == 303
    page = client.get(f"/web/projects/{project_of(olga).id}").text
    assert "every Monday at 09:15" in page and "/pause" not in page and 'action="/web/projects/' not in page.split(
        "schedules-title")[1].split("</section>")[0]
    token = csrf_of(client.get("/web/projects"))
    for path in (f"/schedules/{schedule_id}/pause", f"/schedules/{schedule_id}/delete", "/schedules"):
        refused = client.post(f"/web/projects/{project_of(olga).id}{path}", data={"csrf": token, **WEEKLY},
                              follow_redirects=False)
        assert refused.status_code == 404, path
    client.cookies.clear()
    assert sign_in(client, "boris").status_code == 303
    token = csrf_of(client.get("/web/projects"))
    assert client.post(f"/web/projects/{project_of(boris).id}/schedules/{schedule_id}/pause", data={"csrf": token},
                       follow_redirects=False).status_code == 404
    assert not _only(session).paused

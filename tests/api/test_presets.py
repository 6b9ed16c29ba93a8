"""Export presets (issue 15, points 2 and 5): named settings of a project, saved with the export request's
own check, and exports created with `{"preset": id}`, the request's fields overriding the preset's; the
limits of every request (body size, rate limits, active exports per project) hold for them too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crowdexports.api.app import create_app
from crowdexports.models import Export, ExportPreset, Project
from crowdexports.ratelimit import Limit
from crowdexports.rules import exports, presets
from crowdexports.rules.kinds import Body
from crowdexports.runtime import Runtime
from tests.api.conftest import Account, ignore_dispatch, limited_client
from tests.api.test_body_rules import _past_the_rules
from tests.api.test_rate_limits import assert_limited

SETTINGS = {"type": "orders", "format": "csv", "columns": {"order.id": "Order", "user.email": "Email"},
            "csv_dialect": "excel_eu"}
MINIMAL = {"type": "orders", "format": "csv"}
# The request's fields a preset holds: all of them but `preset`, whatever the request gains later.
REQUEST_SETTINGS = Body(tuple(rule for rule in exports.EXPORT_REQUEST.fields if rule.name != exports.PRESET.name))


def save(client: TestClient, project: Project, account: Account, name: str = "Monthly",
         settings: Any = None) -> httpx.Response:
    body = {"name": name, "settings": SETTINGS if settings is None else settings}
    return client.post(f"/v1/projects/{project.id}/export-presets", json=body, headers=account.bearer)


def saved(client: TestClient, project: Project, account: Account, **fields: Any) -> dict[str, Any]:
    response = save(client, project, account, **fields)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def create_export(client: TestClient, project: Project, account: Account, body: dict[str, Any]) -> httpx.Response:
    return client.post(f"/v1/projects/{project.id}/exports", json=body, headers=account.bearer)


def errors(response: httpx.Response) -> list[tuple[str, list[str]]]:
    return [(error["classification"], error["fieldNames"]) for error in response.json()["errors"]]


def test_a_preset_is_saved_listed_shown_replaced_and_deleted(client: TestClient, alice: Account,
                                                             project_a: Project) -> None:
    made = saved(client, project_a, alice)
    assert made["name"] == "Monthly" and made["settings"] == SETTINGS and made["project_id"] == project_a.id
    url = f"/v1/export-presets/{made['id']}"
    assert client.get(url, headers=alice.bearer).json() == made
    saved(client, project_a, alice, name="Another", settings=MINIMAL)
    listed = client.get(f"/v1/projects/{project_a.id}/export-presets", headers=alice.bearer).json()
    assert [preset["name"] for preset in listed["export_presets"]] == ["Another", "Monthly"]
    replaced = client.put(url, json={"name": "Weekly", "settings": MINIMAL}, headers=alice.bearer)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["name"] == "Weekly" and replaced.json()["settings"] == MINIMAL
    assert client.delete(url, headers=alice.bearer).status_code == 204
    assert client.get(url, headers=alice.bearer).status_code == 404


def test_the_location_names_the_new_preset(client: TestClient, alice: Account, project_a: Project) -> None:
    response = save(client, project_a, alice)
    assert response.headers["Location"] == f"/v1/export-presets/{response.json()['id']}"


def test_an_export_with_a_preset_takes_its_settings_and_the_requests_fields_override_them(
        client: TestClient, alice: Account, project_a: Project, dispatched: list[int]) -> None:
    preset = saved(client, project_a, alice)
    as_saved = create_export(client, project_a, alice, {"preset": preset["id"]})
    assert as_saved.status_code == 201, as_saved.text
    assert (as_saved.json()["format"], as_saved.json()["csv_dialect"]) == ("csv", "excel_eu")
    assert as_saved.json()["columns"] == SETTINGS["columns"]
    # A null field overrides too: it asks for the default (here, no dialect for an xlsx file).
    overridden = create_export(client, project_a, alice, {"preset": preset["id"], "format": "xlsx",
                                                          "csv_dialect": None})
    assert overridden.status_code == 201, overridden.text
    assert (overridden.json()["format"], overridden.json()["csv_dialect"]) == ("xlsx", None)
    assert overridden.json()["columns"] == SETTINGS["columns"]
    assert len(dispatched) == 2


def test_a_preset_whose_column_is_gone_is_refused_naming_the_preset(
        client: TestClient, session: Session, alice: Account, project_a: Project) -> None:
    preset = saved(client, project_a, alice)
    row = session.get_one(ExportPreset, preset["id"])
    row.settings = {**SETTINGS, "columns": {"order.id": "Order", "order.gone": "Gone"}}  # as after a column's removal
    session.commit()
    response = create_export(client, project_a, alice, {"preset": preset["id"]})
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["fieldNames"] == ["preset", "columns", "order.gone"]
    assert error["message"].startswith(f"preset {preset['id']} (Monthly): ")
    # The request's own columns replace the preset's: nothing of the preset is wrong then.
    fixed = create_export(client, project_a, alice, {"preset": preset["id"], "columns": {"order.id": "Order"}})
    assert fixed.status_code == 201, fixed.text


def test_another_projects_preset_is_refused_exactly_as_a_missing_one(
        client: TestClient, session: Session, alice: Account, bob: Account, project_a: Project,
        project_b: Project) -> None:
    bobs = saved(client, project_b, bob)["id"]
    missing = bobs + 1000
    answers = [create_export(client, project_a, alice, {"preset": preset_id}) for preset_id in (bobs, missing)]
    assert [answer.status_code for answer in answers] == [400, 400]
    assert [errors(answer) for answer in answers] == [[("ValueError", ["preset"])]] * 2
    assert [answer.json()["errors"][0]["message"] for answer in answers] == [
        f"export preset {preset_id} does not exist in project {project_a.id}" for preset_id in (bobs, missing)]
    assert session.scalar(select(func.count()).select_from(Export)) == 0


@pytest.mark.parametrize(("preset", "classification"), [("1", "TypeError"), (0, "ValueError"), (1.5, "TypeError"),
                                                         (True, "TypeError"), (2**63, "ValueError")])
def test_a_preset_that_is_not_an_id_is_refused(client: TestClient, alice: Account, project_a: Project,
                                               preset: object, classification: str) -> None:
    response = create_export(client, project_a, alice, {"preset": preset})
    assert response.status_code == 400
    assert errors(response) == [(classification, ["preset"])]


@pytest.mark.parametrize("name", ["Ménsuel ✨", "月次", "שבועי", "👩‍💻 team", "x" * 100, "a\u200db"])
def test_any_one_line_unicode_name_is_fine(client: TestClient, alice: Account, project_a: Project,
                                           name: str) -> None:
    assert saved(client, project_a, alice, name=name)["name"] == name


BAD_BODIES = [
    ("no name", {"settings": MINIMAL}, [("RequiredError", ["name"])]),
    ("no settings", {"name": "x"}, [("RequiredError", ["settings"])]),
    ("blank name", {"name": "  ", "settings": MINIMAL}, [("ValueError", ["name"])]),
    ("long name", {"name": "x" * 101, "settings": MINIMAL}, [("ValueError", ["name"])]),
    ("newline in name", {"name": "a\nb", "settings": MINIMAL}, [("ValueError", ["name"])]),
    ("NUL in name", {"name": "a\x00b", "settings": MINIMAL}, [("ValueError", ["name"])]),
    ("lone surrogate in name", {"name": "a\ud800", "settings": MINIMAL}, [("ValueError", ["name"])]),
    ("name not a string", {"name": 5, "settings": MINIMAL}, [("TypeError", ["name"])]),
    ("settings not an object", {"name": "x", "settings": [MINIMAL]}, [("TypeError", ["settings"])]),
    ("unknown field", {"name": "x", "settings": MINIMAL, "owner": 1}, [("UnknownFieldError", ["owner"])]),
    ("read-only field", {"name": "x", "settings": MINIMAL, "id": 1}, [("PermissionError", ["id"])]),
    ("unknown setting", {"name": "x", "settings": {**MINIMAL, "x": 1}},
     [("UnknownFieldError", ["settings", "x"])]),
    ("a preset in a preset", {"name": "x", "settings": {**MINIMAL, "preset": 1}},
     [("UnknownFieldError", ["settings", "preset"])]),
    ("incomplete settings", {"name": "x", "settings": {"type": "orders"}}, [("RequiredError", ["settings", "format"])]),
    ("unknown column", {"name": "x", "settings": {**MINIMAL, "columns": {"nope": "N"}}},
     [("ValueError", ["settings", "columns", "nope"])]),
    ("dialect of an xlsx", {"name": "x", "settings": {**SETTINGS, "format": "xlsx"}},
     [("ValueError", ["settings", "csv_dialect"])]),
    ("every problem at once", {"name": 1, "settings": {"format": "CSV", "type": "orders"}, "x": 0},
     [("UnknownFieldError", ["x"]), ("TypeError", ["name"]), ("ValueError", ["settings", "format"])]),
]


@pytest.mark.parametrize(("body", "expected"), [case[1:] for case in BAD_BODIES], ids=[case[0] for case in BAD_BODIES])
def test_bad_bodies_are_refused_one_error_per_problem(client: TestClient, session: Session, alice: Account,
                                                      project_a: Project, body: dict[str, Any],
                                                      expected: list[tuple[str, list[str]]]) -> None:
    content, headers = json.dumps(body), {**alice.bearer, "Content-Type": "application/json"}  # "\ud800" escaped
    response = client.post(f"/v1/projects/{project_a.id}/export-presets", content=content, headers=headers)
    assert response.status_code == 400, response.text
    assert sorted(errors(response)) == sorted(expected)
    preset = saved(client, project_a, alice, name="valid")
    replaced = client.put(f"/v1/export-presets/{preset['id']}", content=content, headers=headers)
    assert replaced.status_code == 400 and sorted(errors(replaced)) == sorted(expected)
    assert session.scalar(select(func.count()).select_from(ExportPreset)) == 1


@pytest.fixture
def roomy_client(runtime: Runtime) -> Iterator[TestClient]:
    """Room for a body past any rule of the request (as tests/api/test_body_rules.py's)."""
    roomy = replace(runtime, settings=runtime.settings.model_copy(update={"max_body_bytes": 1_000_000}))
    with TestClient(create_app(roomy, ignore_dispatch)) as client:
        yield client


def test_settings_are_judged_by_the_export_requests_own_rules_whatever_fields_it_has(
        roomy_client: TestClient, alice: Account, project_a: Project) -> None:
    """Generic over the request's fields (filters and whatever comes next): each one a preset may hold,
    null (absent) as well as past its rule, is judged in a preset as in a request, under `settings`."""
    client = roomy_client
    for rule in REQUEST_SETTINGS.fields:
        if not rule.required:
            response = save(client, project_a, alice, name=f"null {rule.name}", settings={**MINIMAL, rule.name: None})
            assert response.status_code == 201, (rule.name, response.text)
    cases = list(_past_the_rules(REQUEST_SETTINGS, MINIMAL))
    assert {field_names[0] for _, field_names in cases} == set(REQUEST_SETTINGS.names)
    for settings, field_names in cases:
        as_request = create_export(client, project_a, alice, settings)
        as_preset = save(client, project_a, alice, name="refused", settings=settings)
        assert as_request.status_code == as_preset.status_code == 400, settings
        assert [names for _, names in errors(as_request)] == [field_names], settings
        assert errors(as_preset) == [(classification, ["settings", *names])
                                     for classification, names in errors(as_request)], settings


def test_names_are_unique_in_a_project_but_not_across_projects(client: TestClient, alice: Account, bob: Account,
                                                               project_a: Project, project_b: Project) -> None:
    first = saved(client, project_a, alice)
    duplicate = save(client, project_a, alice)
    assert duplicate.status_code == 409 and errors(duplicate) == [("ConflictError", [])]
    assert "Monthly" in duplicate.json()["errors"][0]["message"]
    assert save(client, project_b, bob).status_code == 201
    other = saved(client, project_a, alice, name="Other")
    renamed = client.put(f"/v1/export-presets/{other['id']}", json={"name": "Monthly", "settings": MINIMAL},
                         headers=alice.bearer)
    assert renamed.status_code == 409
    same = client.put(f"/v1/export-presets/{first['id']}", json={"name": "Monthly", "settings": MINIMAL},
                      headers=alice.bearer)
    assert same.status_code == 200


def test_a_project_holds_at_most_its_cap_of_presets(client: TestClient, session: Session, alice: Account,
                                                    project_a: Project) -> None:
    session.add_all(ExportPreset(project_id=project_a.id, name=f"p{index}", settings=MINIMAL)
                    for index in range(presets.MAX_PER_PROJECT - 1))
    session.commit()
    last = saved(client, project_a, alice, name="last")
    over = save(client, project_a, alice, name="one more")
    assert over.status_code == 409 and errors(over) == [("ConflictError", [])]
    assert f"{presets.MAX_PER_PROJECT} export presets" in over.json()["errors"][0]["message"]
    assert client.delete(f"/v1/export-presets/{last['id']}", headers=alice.bearer).status_code == 204
    assert save(client, project_a, alice, name="one more").status_code == 201


def test_a_preset_does_not_get_round_the_cap_of_active_exports(client: TestClient, runtime: Runtime,
                                                                alice: Account, project_a: Project) -> None:
    preset = saved(client, project_a, alice)
    cap = runtime.settings.max_active_exports_per_project
    made = [create_export(client, project_a, alice, {"preset": preset["id"]}).status_code for _ in range(cap)]
    assert made == [201] * cap
    refused = create_export(client, project_a, alice, {"preset": preset["id"]})
    assert refused.status_code == 429 and errors(refused) == [("RateLimitError", [])]


def test_a_body_over_the_size_limit_is_413(client: TestClient, runtime: Runtime, alice: Account,
                                           project_a: Project) -> None:
    huge = "x" * runtime.settings.max_body_bytes
    response = save(client, project_a, alice, settings={**MINIMAL, "columns": {"order.id": huge}})
    assert response.status_code == 413
    assert errors(response) == [("PayloadTooLargeError", [])]


def test_preset_routes_spend_the_callers_rate_limit(runtime: Runtime, alice: Account, project_a: Project) -> None:
    with limited_client(runtime, rate_limit_api=Limit(3, 60)) as client:
        url = f"/v1/projects/{project_a.id}/export-presets"
        assert [client.get(url, headers=alice.bearer).status_code for _ in range(2)] == [200] * 2
        assert save(client, project_a, alice).status_code == 201
        assert_limited(save(client, project_a, alice, name="again"))
        assert_limited(client.get(url, headers=alice.bearer))


def test_deleting_a_preset_leaves_the_exports_made_with_it(client: TestClient, alice: Account,
                                                           project_a: Project) -> None:
    preset = saved(client, project_a, alice)
    export = create_export(client, project_a, alice, {"preset": preset["id"]}).json()
    assert client.delete(f"/v1/export-presets/{preset['id']}", headers=alice.bearer).status_code == 204
    shown = client.get(f"/v1/exports/{export['id']}", headers=alice.bearer)
    assert shown.status_code == 200 and shown.json()["columns"] == SETTINGS["columns"]

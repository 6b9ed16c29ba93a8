"""`filters` on POST /v1/projects/{id}/exports (issue 15): each mistake a 400 in the error envelope naming
its field from "filters" on; good filters stored and shown on the resource (create, show, list); and the
existing limits and privacy rules unchanged by them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crowdexports.api.schemas import ExportOut
from crowdexports.exports.types.order_filters import MAX_REWARD_IDS
from crowdexports.models import Export, Project
from crowdexports.ratelimit import Limit
from crowdexports.runtime import Runtime
from tests.api.conftest import Account, limited_client

FILTERS = {"status": ["payment-completed", "payment-done"], "reward_ids": [7, 8],
           "created": {"from": "2026-11-01", "to": "2026-11-30T18:00"}, "country": ["fr", "BE"],
           "has_shipping_address": True}
# As stored and shown: country codes upper case; the rest as given.
SHOWN = {**FILTERS, "country": ["FR", "BE"]}


def _post(client: TestClient, project: Project, account: Account, filters: object) -> Any:
    return client.post(f"/v1/projects/{project.id}/exports", headers=account.bearer,
                       json={"format": "csv", "type": "orders", "filters": filters})


def _errors(response: Any) -> list[tuple[list[str], str]]:
    assert response.status_code == 400, response.text
    return [(error["fieldNames"], error["classification"]) for error in response.json()["errors"]]


BAD: dict[str, tuple[object, list[tuple[list[str], str]]]] = {
    "not an object": (["status"], [(["filters"], "TypeError")]),
    "unknown filter": ({"colour": ["red"]}, [(["filters", "colour"], "UnknownFieldError")]),
    "long unknown name": ({"x" * 500: 1}, [(["filters", "x" * 100], "UnknownFieldError")]),
    "status not a list": ({"status": "cancelled"}, [(["filters", "status"], "TypeError")]),
    "unknown status": ({"status": ["paid"]}, [(["filters", "status"], "ValueError")]),
    "status in odd unicode": ({"status": ["payment\u2011done"]}, [(["filters", "status"], "ValueError")]),
    "empty status": ({"status": []}, [(["filters", "status"], "ValueError")]),
    "reward id as text": ({"reward_ids": ["7"]}, [(["filters", "reward_ids"], "TypeError")]),
    "reward id a boolean": ({"reward_ids": [True]}, [(["filters", "reward_ids"], "TypeError")]),
    "reward id not positive": ({"reward_ids": [0]}, [(["filters", "reward_ids"], "ValueError")]),
    "reward id too large": ({"reward_ids": [2**63]}, [(["filters", "reward_ids"], "ValueError")]),
    "too many reward ids": ({"reward_ids": list(range(1, MAX_REWARD_IDS + 2))},
                            [(["filters", "reward_ids"], "ValueError")]),
    "bad country": ({"country": ["FRA"]}, [(["filters", "country"], "ValueError")]),
    "fullwidth country": ({"country": ["\uff26\uff32"]}, [(["filters", "country"], "ValueError")]),
    "country not a string": ({"country": [33]}, [(["filters", "country"], "TypeError")]),
    "too many countries": ({"country": ["FR"] * 300}, [(["filters", "country"], "ValueError")]),
    "flag as text": ({"has_shipping_address": "yes"}, [(["filters", "has_shipping_address"], "TypeError")]),
    "created not an object": ({"created": "2026-11-01"}, [(["filters", "created"], "TypeError")]),
    "created empty": ({"created": {}}, [(["filters", "created"], "ValueError")]),
    "bad date": ({"created": {"from": "2026-02-30"}}, [(["filters", "created", "from"], "ValueError")]),
    "not a date": ({"created": {"to": "next week"}}, [(["filters", "created", "to"], "ValueError")]),
    "date with an offset": ({"created": {"from": "2026-11-01T00:00+01:00"}},
                            [(["filters", "created", "from"], "ValueError")]),
    "arabic-indic digits": ({"created": {"from": "\u0662\u0660\u0662\u0666-11-01"}},
                            [(["filters", "created", "from"], "ValueError")]),
    "date as a number": ({"created": {"from": 20261101}}, [(["filters", "created", "from"], "TypeError")]),
    "unknown end": ({"created": {"since": "2026-11-01"}}, [(["filters", "created", "since"], "UnknownFieldError")]),
    "empty range": ({"created": {"from": "2026-11-02", "to": "2026-11-02"}}, [(["filters", "created"], "ValueError")]),
    "reversed range": ({"created": {"from": "2026-11-02T00:00:01", "to": "2026-11-02"}},
                       [(["filters", "created"], "ValueError")]),
    "several at once": ({"status": ["paid"], "country": ["ZZ"], "created": {"from": "x"}},
                        [(["filters", "status"], "ValueError"), (["filters", "country"], "ValueError"),
                         (["filters", "created", "from"], "ValueError")]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_filter_is_a_400_naming_it(client: TestClient, alice: Account, project_a: Project,
                                         dispatched: list[int], case: str) -> None:
    filters, expected = BAD[case]
    assert _errors(_post(client, project_a, alice, filters)) == expected
    assert dispatched == []


def test_filters_are_stored_and_shown_on_create_show_and_list(client: TestClient, session: Session, alice: Account,
                                                               project_a: Project) -> None:
    created = _post(client, project_a, alice, FILTERS)
    assert created.status_code == 201, created.text
    ExportOut.model_validate(created.json())
    assert created.json()["filters"] == SHOWN
    export_id = created.json()["id"]
    assert (session.get_one(Export, export_id).options or {})["type"] == {"filters": SHOWN, "layout": "items"}
    shown = client.get(f"/v1/exports/{export_id}", headers=alice.bearer).json()
    listed = client.get(f"/v1/projects/{project_a.id}/exports", headers=alice.bearer).json()["exports"]
    assert shown["filters"] == SHOWN and listed[0]["filters"] == SHOWN
    ExportOut.model_validate(shown)


@pytest.mark.parametrize("filters", [None, {}])
def test_no_filters_is_every_row_and_shows_an_empty_object(client: TestClient, alice: Account,
                                                          project_a: Project, filters: object) -> None:
    created = _post(client, project_a, alice, filters)
    assert created.status_code == 201, created.text
    assert created.json()["filters"] == {}


def test_repeated_values_are_kept_once(client: TestClient, alice: Account, project_a: Project) -> None:
    created = _post(client, project_a, alice, {"status": ["error", "error"], "country": ["fr", "FR"]})
    assert created.json()["filters"] == {"status": ["error"], "country": ["FR"]}


def test_another_owners_project_is_refused_before_the_filters_are_read(client: TestClient, alice: Account,
                                                                       project_b: Project) -> None:
    """The same answer as without filters (a 403, as for any write to a project one can see but not
    own): a bad filter does not reveal more, a good one does not get through."""
    unfiltered = _post(client, project_b, alice, None)
    assert unfiltered.status_code == 403
    for filters in (FILTERS, {"status": ["paid"]}):
        response = _post(client, project_b, alice, filters)
        assert (response.status_code, response.json()) == (403, unfiltered.json())


def test_the_body_size_limit_still_applies(client: TestClient, runtime: Runtime, alice: Account,
                                           project_a: Project) -> None:
    body = json.dumps({"format": "csv", "type": "orders",
                       "filters": {"country": ["FR"], "padding": "x" * runtime.settings.max_body_bytes}})
    response = client.post(f"/v1/projects/{project_a.id}/exports", content=body,
                           headers={"Content-Type": "application/json", **alice.bearer})
    assert response.status_code == 413


def test_filtered_exports_count_against_the_projects_cap(client: TestClient, runtime: Runtime, alice: Account,
                                                         project_a: Project) -> None:
    cap = runtime.settings.max_active_exports_per_project
    assert [_post(client, project_a, alice, {"country": ["FR"]}).status_code for _ in range(cap)] == [201] * cap
    assert _post(client, project_a, alice, {"status": ["error"]}).status_code == 429


def test_filtered_requests_spend_the_rate_limit(runtime: Runtime, alice: Account, project_a: Project) -> None:
    with limited_client(runtime, rate_limit_api=Limit(2, 60)) as client:
        answers = [_post(client, project_a, alice, {"status": ["paid"]}).status_code for _ in range(3)]
    assert answers == [400, 400, 429]

"""The OpenAPI document against the answers: Schemathesis makes requests from /openapi.json, sends them to
the real app (tests/api/conftest.py) on the selected stack, and fails on a status code the document does
not list for that operation, or a body, content type or header that does not match what it documents.

Five runs: as a project owner and as staff, with rate limits off (requests reach the logic) and on (low
enough that 429s come, and are checked too), and with the database down (503s). Each example draws its
credentials (Bearer, API key, Basic, none) and whether the path's ids name real rows (the owner's project
and export, synced records) or whatever the generator made, so that both "not found" and the logic
behind are reached. The order import
(a body of JSON lines) is left out: its own tests cover it (tests/api/test_import_orders.py).

Bounded and repeatable: a fixed seed, derandomized Hypothesis, a few examples per operation and mode.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
import schemathesis
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import CHECKS, CheckFunction
from schemathesis.config import SchemathesisConfig
from schemathesis.core.result import Err
from schemathesis.generation import GenerationMode
from schemathesis.generation.case import Case
from schemathesis.schemas import APIOperation
from sqlalchemy.orm import Session

from crowdexports.api import openapi
from crowdexports.api.app import create_app
from crowdexports.api.bodies import JsonObject
from crowdexports.api.database import SessionDep
from crowdexports.api.permissions import StaffWriter
from crowdexports.api.schemas import ExportOut
from crowdexports.models import Export, ExportSchedule, ExportScheduleRun, OAuthClient, Project, WebhookEndpoint
from crowdexports.ratelimit import Limit
from crowdexports.runtime import Runtime
from tests.api.conftest import Account, ignore_dispatch, limited_client, request_export
from tests.api.syncing import project_body, put, reward_body, user_body
from tests.api.test_app import broken_runtime

EXAMPLES = 6  # per operation and generation mode (positive, negative): about 500 requests in all four runs
SEED = 20261204
# A 500 fails status_code_conformance, since no operation documents one (test_the_document_is_closed);
# not_a_server_error would also refuse the 503s of the database-down run, which are documented.
CHECKED = ("status_code_conformance", "content_type_conformance", "response_headers_conformance",
           "response_schema_conformance")
LOW_LIMITS = {"rate_limit_api": Limit(12, 60), "rate_limit_password": Limit(2, 60),
              "rate_limit_token_client": Limit(6, 60), "rate_limit_token_address": Limit(4, 60)}
NO_LIMITS = dict.fromkeys(LOW_LIMITS)
SYNCED_USER, SYNCED_PROJECT, SYNCED_REWARD = 42, 7, 70


@dataclass
class Target:
    """The app under test, who calls it, and the ids that name real rows for that caller."""

    client: TestClient
    caller: Account
    ids: dict[str, str]


def _config() -> SchemathesisConfig:
    return SchemathesisConfig.from_dict({
        "seed": SEED,
        "generation": {"mode": "all", "max-examples": EXAMPLES, "deterministic": True},
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    })


@pytest.fixture(params=[("owner", "limits off"), ("owner", "limits on"), ("staff", "limits off"),
                        ("staff", "limits on"), ("owner", "database down")], ids=" ".join)
def target(request: pytest.FixtureRequest, runtime: Runtime, session: Session, tmp_path: Path, alice: Account,
           staff: Account, project_a: Project) -> Iterator[Target]:
    role, condition = request.param
    export = request_export(session, project_a, alice.user)
    endpoint = WebhookEndpoint(user_id=alice.user.id, url="https://books.example/hook", events=["export.failed"],
                               secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    session.add(endpoint)
    session.commit()
    ids = {"project_id": str(project_a.id), "export_id": str(export.id), "user_id": str(alice.user.id),
           "reward_id": str(SYNCED_REWARD), "endpoint_id": str(endpoint.id),
           "schedule_id": str(_schedule(session, project_a, export).id)}
    if role == "staff":
        with TestClient(create_app(runtime, ignore_dispatch)) as client:
            for kind, record_id, body in (("users", SYNCED_USER, user_body()),
                                          ("projects", SYNCED_PROJECT, project_body(SYNCED_USER)),
                                          ("rewards", SYNCED_REWARD, reward_body(SYNCED_PROJECT))):
                assert put(client, staff, kind, record_id, body).status_code == 201
        ids.update(project_id=str(SYNCED_PROJECT), user_id=str(SYNCED_USER))
    limits = LOW_LIMITS if condition == "limits on" else NO_LIMITS
    served = replace(runtime, settings=runtime.settings.model_copy(update=limits))
    if condition == "database down":
        served = broken_runtime(served, tmp_path)
    with TestClient(create_app(served, ignore_dispatch)) as client:
        yield Target(client, alice if role == "owner" else staff, ids)


def _schedule(session: Session, project: Project, export: Export) -> ExportSchedule:
    """A schedule of the owner's project: the schedule routes' real id (staff read it too), with a run that
    made `export` and one whose settings were refused."""
    schedule = ExportSchedule(project_id=project.id, owner_id=project.owner_id, rule="daily", local_time="02:30",
                              settings={"type": "orders", "format": "csv"})
    session.add(schedule)
    session.flush()
    session.add_all([ExportScheduleRun(schedule_id=schedule.id, slot=datetime(2027, 1, 1, 1, 30, tzinfo=UTC),
                                       export_id=export.id),
                     ExportScheduleRun(schedule_id=schedule.id, slot=datetime(2027, 1, 2, 1, 30, tzinfo=UTC),
                                       error="preset: export preset 9 does not exist")])
    session.commit()
    return schedule


def _operations(target: Target) -> list[APIOperation[Any, Any, Any, Any]]:
    app = target.client.app
    assert isinstance(app, FastAPI)
    schema = schemathesis.openapi.from_dict(app.openapi(), config=_config())
    operations = []
    for result in schema.exclude(path_regex=r"/orders/import$").get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operations.append(result.ok())
    return operations


def _credentials(caller: Account, kind: str) -> dict[str, str]:
    return {"bearer": caller.bearer, "apikey": caller.apikey, "basic": caller.basic, "none": {}}[kind]


def _send(target: Target, case: Case[Any], real_ids: bool, credentials: str) -> None:
    """One generated request, as generated except for its credentials (and its path's ids when `real_ids`),
    its answer checked against the document."""
    if real_ids and case.path_parameters:
        case.path_parameters = {name: target.ids.get(name, value) for name, value in case.path_parameters.items()}
    kwargs: dict[str, Any] = case.as_transport_kwargs(base_url="http://testserver")
    headers = {**(kwargs.get("headers") or {}), **_credentials(target.caller, credentials)}
    data = kwargs.get("data")
    form = data if isinstance(data, dict) else None  # application/x-www-form-urlencoded fields
    response = target.client.request(kwargs["method"], kwargs["url"], params=kwargs.get("params"), headers=headers,
                                     content=None if form is not None else data, data=form, json=kwargs.get("json"))
    # The registry holds check functions and check classes; the checks named in CHECKED are all functions.
    case.validate_response(response, checks=cast(list[CheckFunction], CHECKS.get_by_names(list(CHECKED))))


@pytest.mark.slow  # about 500 requests per run
def test_every_answer_is_documented(target: Target) -> None:
    failures = []
    for operation in _operations(target):
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @given(case=operation.as_strategy(generation_mode=mode), real_ids=st.booleans(),
                   credentials=st.sampled_from(["bearer", "bearer", "apikey", "basic", "none"]))
            @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate, Phase.shrink])
            def run(case: Case[Any], real_ids: bool, credentials: str) -> None:
                _send(target, case, real_ids, credentials)

            try:
                run()
            except Unsatisfiable:  # nothing in this operation's document can be made invalid
                continue
            except (Exception, BaseExceptionGroup) as failure:  # every operation's, then all of them at once
                failures.append(f"{operation.label} ({mode}): {failure}")
    assert not failures, "\n\n".join(failures)


def _answers(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                yield f"{method.upper()} {path}", status, answer


def test_the_document_is_closed(client: TestClient) -> None:
    """No 422 (invalid input is a 400) but a reused Idempotency-Key's, no 500 nor catch-all; every error answer
    is the envelope (or a body that extends it), and every operation can answer 503; those with credentials
    401 and 429."""
    document = client.get("/openapi.json").json()
    statuses = {(operation, status) for operation, status, _ in _answers(document)}
    assert {operation for operation, status in statuses if status == "422"} == {
        "POST /v1/projects/{project_id}/exports"}
    assert not {status for _, status in statuses} & {"500", "5XX", "4XX", "default"}
    assert not {"HTTPValidationError", "ValidationError"} & set(document["components"]["schemas"])
    for operation, status, answer in _answers(document):
        if int(status) >= 400:
            ref = answer["content"]["application/json"]["schema"]["$ref"]
            assert ref.rsplit("/", 1)[1] in ("ErrorBody", "OAuthErrorBody", "HealthDown"), (operation, status)
    operations = {operation for operation, _ in statuses}
    assert all((operation, "503") in statuses for operation in operations)
    public = {"POST /oauth2/token/", "GET /v1/exports/{export_id}/download",
              "HEAD /v1/exports/{export_id}/download", "GET /healthz", "GET /metrics"}
    for operation in operations - public:
        assert {(operation, "401"), (operation, "429")} <= statuses, operation
    token = document["paths"]["/oauth2/token/"]["post"]["responses"]
    for status in ("400", "401", "429", "503"):
        assert token[status]["content"]["application/json"]["schema"]["$ref"].endswith("/OAuthErrorBody")
    assert token["429"]["headers"]["Retry-After"]["required"] is True


def test_an_export_with_control_totals_answers_as_documented(client: TestClient, session: Session, alice: Account,
                                                            project_a: Project) -> None:
    """The contract run's export is waiting (summary null): a made one's `summary` checked against the document."""
    export = request_export(session, project_a, alice.user)
    export.status, export.summary = "succeeded", [
        {"currency": "KWD", "orders": 2, "items": 1, "total": "1.500", "by_status": [
            {"status": "cancelled", "orders": 1, "items": 0, "total": "0.000"},
            {"status": "payment-completed", "orders": 1, "items": 1, "total": "1.500"}]}]
    session.commit()
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    shown = client.get(f"/v1/exports/{export.id}", headers=alice.bearer).json()
    assert shown["summary"] == export.summary
    assert ExportOut.model_validate(shown).model_dump()["summary"] == export.summary  # the model the document is of
    assert schemas["ExportOut"]["properties"]["summary"]["anyOf"] == [
        {"type": "array", "items": {"$ref": "#/components/schemas/CurrencyTotals"}}, {"type": "null"}]
    for name, fields in (("CurrencyTotals", {"currency", "orders", "items", "total", "by_status"}),
                         ("StatusTotals", {"status", "orders", "items", "total"})):
        assert set(schemas[name]["required"]) == set(schemas[name]["properties"]) == fields
        assert schemas[name]["properties"]["total"]["type"] == "string"


def test_a_new_route_is_documented_by_what_it_depends_on() -> None:
    """A route written with the usual dependencies gets their error answers without listing them."""
    router = APIRouter()

    @router.post("/v1/things/{thing_id}/frobnicate")
    def frobnicate(thing_id: str, caller: StaffWriter, payload: JsonObject, session: SessionDep) -> None:
        """A staff write with a JSON body, on a path with an id."""

    openapi.document([router])
    [route] = router.routes
    assert isinstance(route, APIRoute)
    assert set(route.responses) == {400, 401, 403, 404, 408, 413, 415, 429, 431, 503}


def test_a_rate_limited_token_request_answers_in_rfc6749_form(
        runtime: Runtime, alice: Account, oauth_client: tuple[OAuthClient, str, str]) -> None:
    """OAuth clients read `error`: `slow_down`, with its description, beside the envelope's entry."""
    _, client_id, client_secret = oauth_client
    form = {"grant_type": "password", "username": alice.user.username, "password": alice.password}
    with limited_client(runtime, rate_limit_token_address=Limit(1, 60)) as client:
        assert client.post("/oauth2/token/", data=form, auth=(client_id, client_secret)).status_code == 200
        answer = client.post("/oauth2/token/", data=form, auth=(client_id, client_secret))
    assert answer.status_code == 429 and 1 <= int(answer.headers["Retry-After"]) <= 60
    body = answer.json()
    assert body["error"] == "slow_down"
    assert body["error_description"] == body["errors"][0]["message"] and "try again in" in body["error_description"]
    assert body["errors"][0]["classification"] == "RateLimitError"


def test_the_token_endpoint_answers_a_database_down_in_rfc6749_form(
        runtime: Runtime, tmp_path: Path, oauth_client: tuple[OAuthClient, str, str]) -> None:
    _, client_id, client_secret = oauth_client
    with TestClient(create_app(broken_runtime(runtime, tmp_path), ignore_dispatch)) as client:
        answer = client.post("/oauth2/token/", data={"grant_type": "password", "username": "alice", "password": "x"},
                             auth=(client_id, client_secret))
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert answer.json()["error"] == "temporarily_unavailable"

"""The OpenAPI document of each JSON body and the API's checks both say what crowdexports.rules says
(issue 13, point 1): the document cannot promise what the checks do not do, nor the checks refuse what
the document allows.

- every JSON request body in the document is one of BODIES, with exactly the rules' fields, required
  ones, defaults and constraints (maxLength, pattern, enum, bounds, an i18n object's limits);
- for each rule, bodies just past it (one character too many, a value its pattern or choices refuse, a
  number out of bounds, a required field left out) are refused by the API: a 400 naming that field.

Changing one side only (a length in api/schemas.py, or a rule the checks use that is not the one
declared) fails one half or the other.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from itertools import product
from string import ascii_lowercase
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from crowdexports.api.app import create_app
from crowdexports.exports.types.order_filters import MAX_REWARD_IDS, NAMES
from crowdexports.models import Project
from crowdexports.rules import api_keys, exports, presets, projects, rewards, schedules, users, webhooks
from crowdexports.rules.kinds import (
    LANG_PATTERN,
    MAX_ID,
    Body,
    Choices,
    ExportRef,
    Filters,
    Flag,
    Headers,
    I18n,
    Integer,
    Rule,
    Settings,
    Text,
)
from crowdexports.runtime import Runtime
from tests.api.conftest import Account, ignore_dispatch
from tests.api.syncing import project_body, put, reward_body, user_body

USER_ID, PROJECT_ID, REWARD_ID = 501, 7001, 9001
BODIES = {
    ("put", "/v1/users/{user_id}"): users.USER,
    ("put", "/v1/projects/{project_id}"): projects.PROJECT,
    ("put", "/v1/rewards/{reward_id}"): rewards.REWARD,
    ("post", "/v1/projects/{project_id}/exports"): exports.EXPORT_REQUEST,
    ("post", "/v1/users/{user_id}/apikeys"): api_keys.API_KEY,
    ("post", "/v1/projects/{project_id}/export-presets"): presets.PRESET,
    ("put", "/v1/export-presets/{preset_id}"): presets.PRESET,
    ("post", "/v1/webhook-endpoints"): webhooks.ENDPOINT,
    ("post", "/v1/projects/{project_id}/export-schedules"): schedules.SCHEDULE,
    ("put", "/v1/export-schedules/{schedule_id}"): schedules.SCHEDULE,
}
PRESET_BODY = {"name": "Monthly", "settings": {"format": "csv", "type": "orders"}}
SCHEDULE_BODY = {"rule": "daily", "at": "02:30", "settings": {"format": "csv", "type": "orders"}}
FACETS = ("maxLength", "pattern", "enum", "minimum", "maximum", "maxProperties", "propertyNames",
          "additionalProperties", "items", "minItems")


def _documented_bodies(document: dict[str, Any]) -> Iterator[tuple[tuple[str, str], dict[str, Any]]]:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                yield (method, path), content["application/json"]["schema"]


def _facets(prop: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The constraints a property documents, whether on it or on its one non-null branch; and whether
    it may be null."""
    branches = prop.get("anyOf", [prop])
    values = [branch for branch in branches if branch.get("type") != "null"]
    merged = {**prop, **(values[0] if len(values) == 1 else {})}
    facets = {key: merged[key] for key in FACETS if key in merged}
    nullable = len(values) < len(branches)
    if "enum" in facets:
        nullable = None in facets["enum"]
        facets["enum"] = [value for value in facets["enum"] if value is not None]
    return facets, nullable


def _expected(rule: Rule) -> dict[str, Any]:
    """What a property with `rule` must document, from the attributes the checks read."""
    if isinstance(rule, Text):
        if rule.choices:
            return {"enum": list(rule.choices)}
        return {"maxLength": rule.max_length, **({"pattern": rule.pattern} if rule.pattern else {})}
    if isinstance(rule, Integer):
        return {"minimum": rule.low, "maximum": rule.high}
    if isinstance(rule, Choices):
        return {"items": {"type": "string", "enum": list(rule.choices)}, "minItems": 1}
    if isinstance(rule, I18n):
        return {"maxProperties": rule.max_languages, "propertyNames": {"pattern": LANG_PATTERN},
                "additionalProperties": {"type": "string", "maxLength": rule.max_text}}
    if isinstance(rule, Headers):
        return {"additionalProperties": {"type": "string", "maxLength": rule.max_length}}
    if isinstance(rule, Filters | Settings):  # Settings: test_preset_settings_document_the_request_body
        return {"additionalProperties": False}
    return {}


def test_every_json_body_documents_its_rules(client: TestClient) -> None:
    assert isinstance(client.app, FastAPI)
    documented = dict(_documented_bodies(client.app.openapi()))
    assert set(documented) == set(BODIES), "a JSON body without rules, or rules without a documented body"
    for operation, schema in documented.items():
        rules = BODIES[operation]
        assert schema["additionalProperties"] is False, operation
        assert set(schema["properties"]) == set(rules.names), operation
        assert sorted(schema.get("required", [])) == sorted(rules.required), operation
        for name, prop in schema["properties"].items():
            rule = rules[name]
            facets, nullable = _facets(prop)
            assert facets == _expected(rule), (operation, name)
            if isinstance(rule, Filters):
                assert set(prop["anyOf"][0]["properties"]) == set(NAMES), (operation, name)
            if isinstance(rule, ExportRef):
                assert prop["anyOf"][:2] == [{"type": "string", "enum": [rule.keyword]},
                                             {"type": "integer", "minimum": 1, "maximum": MAX_ID}], (operation, name)
            if isinstance(rule, Text | Flag) and not rule.required:
                # The document leaves a null default out (FastAPI writes it without None values).
                assert prop.get("default") == (None if nullable else rule.default), (operation, name)


def _refused(rule: Rule) -> Iterator[tuple[object, list[str]]]:
    """Values just past `rule`, each with the field names under `rule.name` of the problem it makes."""
    if isinstance(rule, Text):
        if rule.choices:
            assert "?" not in rule.choices
            yield "?", []
            return
        yield "x" * (rule.max_length + 1), []
        if rule.pattern:
            assert re.fullmatch(rule.pattern, "") is None
            yield "", []
    elif isinstance(rule, Integer):
        yield rule.low - 1, []
        yield rule.high + 1, []
    elif isinstance(rule, I18n):
        languages = ("".join(pair) for pair in product(ascii_lowercase, repeat=2))
        yield {lang: "x" for lang, _ in zip(languages, range(rule.max_languages + 1), strict=False)}, []
        yield {"EN": "x"}, ["EN"]
        yield {"en": "x" * (rule.max_text + 1)}, ["en"]
    elif isinstance(rule, Headers):
        yield {"order.id": "h" * (rule.max_length + 1)}, ["order.id"]
    elif isinstance(rule, Filters):
        yield {"colour": ["red"]}, ["colour"]
        yield {"status": ["?"]}, ["status"]
        yield {"reward_ids": list(range(1, MAX_REWARD_IDS + 2))}, ["reward_ids"]
        yield {"created": {"from": "2026-11-02", "to": "2026-11-01"}}, ["created"]
    elif isinstance(rule, ExportRef):
        yield rule.keyword.upper(), []
        yield 0, []
        yield MAX_ID + 1, []
    elif isinstance(rule, Settings):
        yield ["not", "an", "object"], []
    elif isinstance(rule, Choices):
        assert "?" not in rule.choices
        yield [rule.choices[0], "?"], ["1"]
        yield [], []


def _past_the_rules(rules: Body, valid: dict[str, Any]) -> Iterator[tuple[dict[str, Any], list[str]]]:
    """Bodies that `valid` turns into one refused by exactly one rule, each with its problem's field names."""
    for rule in rules.fields:
        for value, under in _refused(rule):
            yield {**valid, rule.name: value}, [rule.name, *under]
        if rule.required:
            yield {key: value for key, value in valid.items() if key != rule.name}, [rule.name]


@pytest.fixture
def roomy_client(runtime: Runtime) -> Iterator[TestClient]:
    """The app with room for a body past the longest text rule (i18n texts: 100,000 characters)."""
    roomy = replace(runtime, settings=runtime.settings.model_copy(update={"max_body_bytes": 1_000_000}))
    with TestClient(create_app(roomy, ignore_dispatch)) as client:
        yield client


@pytest.mark.parametrize("operation", list(BODIES), ids=" ".join)
def test_a_body_past_a_rule_is_refused_naming_its_field(roomy_client: TestClient, staff: Account,
                                                         alice: Account, project_a: Project,
                                                         operation: tuple[str, str]) -> None:
    client = roomy_client
    assert put(client, staff, "users", USER_ID, user_body()).status_code == 201
    assert put(client, staff, "projects", PROJECT_ID, project_body(USER_ID)).status_code == 201
    assert put(client, staff, "rewards", REWARD_ID, reward_body(PROJECT_ID)).status_code == 201
    method, path = operation
    cases: dict[str, tuple[str, Account, dict[str, Any]]] = {
        "/v1/users/{user_id}": (f"/v1/users/{USER_ID}", staff, user_body()),
        "/v1/projects/{project_id}": (f"/v1/projects/{PROJECT_ID}", staff, project_body(USER_ID)),
        "/v1/rewards/{reward_id}": (f"/v1/rewards/{REWARD_ID}", staff, reward_body(PROJECT_ID)),
        "/v1/projects/{project_id}/exports": (f"/v1/projects/{project_a.id}/exports", alice,
                                              {"format": "csv", "type": "orders"}),
        "/v1/users/{user_id}/apikeys": (f"/v1/users/{USER_ID}/apikeys", staff, {"expires_in_days": 30}),
        "/v1/projects/{project_id}/export-presets": (f"/v1/projects/{project_a.id}/export-presets", alice,
                                                     PRESET_BODY),
        "/v1/webhook-endpoints": ("/v1/webhook-endpoints", alice, {"url": "https://books.example/hook",
                                                                   "events": ["export.succeeded"]}),
        "/v1/projects/{project_id}/export-schedules": (f"/v1/projects/{project_a.id}/export-schedules", alice,
                                                       SCHEDULE_BODY),
    }
    if path == "/v1/export-presets/{preset_id}":
        made = client.post(f"/v1/projects/{project_a.id}/export-presets", json=PRESET_BODY, headers=alice.bearer)
        cases[path] = (f"/v1/export-presets/{made.json()['id']}", alice, PRESET_BODY)
    if path == "/v1/export-schedules/{schedule_id}":
        made = client.post(f"/v1/projects/{project_a.id}/export-schedules", json=SCHEDULE_BODY, headers=alice.bearer)
        cases[path] = (f"/v1/export-schedules/{made.json()['id']}", alice, SCHEDULE_BODY)
    url, account, valid = cases[path]
    assert client.request(method, url, json=valid, headers=account.bearer).status_code in (200, 201)
    bodies = list(_past_the_rules(BODIES[operation], valid))
    assert bodies
    for body, field_names in bodies:
        response = client.request(method, url, json=body, headers=account.bearer)
        assert response.status_code == 400, (body, response.text)
        assert [error["fieldNames"] for error in response.json()["errors"]] == [field_names], body


def test_preset_settings_document_the_request_body(client: TestClient) -> None:
    """A preset's settings are an export request's fields but `preset`: the document says so, whatever
    fields the request has."""
    assert isinstance(client.app, FastAPI)
    documented = dict(_documented_bodies(client.app.openapi()))
    request = documented[("post", "/v1/projects/{project_id}/exports")]
    for operation in (("post", "/v1/projects/{project_id}/export-presets"), ("put", "/v1/export-presets/{preset_id}")):
        settings = documented[operation]["properties"]["settings"]
        assert settings["properties"] == {name: prop for name, prop in request["properties"].items()
                                          if name != exports.PRESET.name}
        assert settings["required"] == request["required"] and settings["additionalProperties"] is False

"""Who sees what (SPEC §2): owners A and B, staff and anonymous × every endpoint, on A's and B's things.

An export's existence is private (404 to others); a project's is not (403 to non-owners). Creating
and retrying are the owner's alone; cancelling is the owner's and staff's. A download link is its own
credential. An Idempotency-Key is its user's (tests/api/test_idempotency.py). A project's export presets
are private like exports: the owner writes them, staff read them (403 on writes), to anyone else they do
not exist (404); an API key reads only.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crowdexports.exports import lifecycle
from crowdexports.models import Export, ExportPreset, Project
from crowdexports.runtime import Runtime
from tests.api.conftest import Account, request_export, succeeded_export
from tests.servers.s3 import fetch


@dataclass
class World:
    accounts: dict[str, Account]
    projects: dict[str, Project]
    waiting: dict[str, Export]
    succeeded: dict[str, Export]
    presets: dict[str, ExportPreset]
    canceled: dict[str, Export]


@pytest.fixture
def world(client: TestClient, session: Session, runtime: Runtime, alice: Account, bob: Account,
          staff: Account, project_a: Project, project_b: Project) -> World:
    return World(
        accounts={"A": alice, "B": bob, "staff": staff},
        projects={"A": project_a, "B": project_b},
        waiting={"A": request_export(session, project_a, alice.user),
                 "B": request_export(session, project_b, bob.user)},
        succeeded={"A": succeeded_export(session, runtime, project_a, alice.user, content=b"A's file"),
                   "B": succeeded_export(session, runtime, project_b, bob.user, content=b"B's file")},
        presets={"A": _preset(session, project_a), "B": _preset(session, project_b)},
        canceled={owner: lifecycle.cancel(session, request_export(session, project, account.user),
                                          by_user_id=account.user.id)
                  for owner, project, account in (("A", project_a, alice), ("B", project_b, bob))},
    )


def _preset(session: Session, project: Project) -> ExportPreset:
    preset = ExportPreset(project_id=project.id, name="Monthly", settings=PRESET_SETTINGS)
    session.add(preset)
    session.commit()
    return preset


def call(client: TestClient, world: World, action: str, owner: str,
         headers: dict[str, str]) -> httpx.Response:
    project, export = world.projects[owner], world.waiting[owner]
    if action == "show":
        return client.get(f"/v1/exports/{export.id}", headers=headers)
    if action == "list":
        return client.get(f"/v1/projects/{project.id}/exports", headers=headers)
    if action == "create":
        return client.post(f"/v1/projects/{project.id}/exports", json={"format": "csv", "type": "orders"},
                           headers=headers)
    assert action in ("cancel", "retry")
    if action == "retry":
        export = world.canceled[owner]
    return client.post(f"/v1/exports/{export.id}/{action}", headers=headers)


EXPECTED = {  # action: {caller: status on A's resource}; B's resource is the mirror image
    "show": {"A": 200, "B": 404, "staff": 200, "anonymous": 401},
    "list": {"A": 200, "B": 403, "staff": 200, "anonymous": 401},
    "create": {"A": 201, "B": 403, "staff": 403, "anonymous": 401},
    "cancel": {"A": 200, "B": 404, "staff": 200, "anonymous": 401},
    "retry": {"A": 201, "B": 404, "staff": 403, "anonymous": 401},
}
MIRROR = {"A": "B", "B": "A", "staff": "staff", "anonymous": "anonymous"}
CLASSIFICATION = {401: "AuthenticationError", 403: "PermissionError", 404: "NotFoundError"}
CASES = [(action, caller, owner) for action in EXPECTED for caller in MIRROR for owner in ("A", "B")]


@pytest.mark.parametrize(("action", "caller", "owner"), CASES)
def test_access_matrix(client: TestClient, world: World, action: str, caller: str, owner: str) -> None:
    expected = EXPECTED[action][caller if owner == "A" else MIRROR[caller]]
    headers = world.accounts[caller].bearer if caller in world.accounts else {}
    response = call(client, world, action, owner, headers)
    assert response.status_code == expected, response.text
    body = response.json()
    if expected >= 400:
        assert [e["classification"] for e in body["errors"]] == [CLASSIFICATION[expected]]
    elif action == "list":
        assert {e["project_id"] for e in body["exports"]} == {world.projects[owner].id}
    else:
        assert body["project_id"] == world.projects[owner].id


PRESET_SETTINGS = {"type": "orders", "format": "csv"}
PRESET_BODY = {"name": "Weekly", "settings": PRESET_SETTINGS}
PRESET_EXPECTED = {  # action: {caller: status on A's presets}; B's are the mirror image
    "presets list": {"A": 200, "B": 404, "staff": 200, "anonymous": 401},
    "preset create": {"A": 201, "B": 404, "staff": 403, "anonymous": 401},
    "preset show": {"A": 200, "B": 404, "staff": 200, "anonymous": 401},
    "preset replace": {"A": 200, "B": 404, "staff": 403, "anonymous": 401},
    "preset delete": {"A": 204, "B": 404, "staff": 403, "anonymous": 401},
    "export with the preset": {"A": 201, "B": 403, "staff": 403, "anonymous": 401},
}
PRESET_CASES = [(action, caller, owner) for action in PRESET_EXPECTED for caller in MIRROR for owner in ("A", "B")]


def call_preset(client: TestClient, world: World, action: str, owner: str, headers: dict[str, str]) -> httpx.Response:
    project, preset = world.projects[owner], world.presets[owner]
    collection, one = f"/v1/projects/{project.id}/export-presets", f"/v1/export-presets/{preset.id}"
    if action == "presets list":
        return client.get(collection, headers=headers)
    if action == "preset create":
        return client.post(collection, json=PRESET_BODY, headers=headers)
    if action == "preset show":
        return client.get(one, headers=headers)
    if action == "preset replace":
        return client.put(one, json=PRESET_BODY, headers=headers)
    if action == "preset delete":
        return client.delete(one, headers=headers)
    assert action == "export with the preset"
    return client.post(f"/v1/projects/{project.id}/exports", json={"preset": preset.id}, headers=headers)


@pytest.mark.parametrize(("action", "caller", "owner"), PRESET_CASES)
def test_preset_access_matrix(client: TestClient, world: World, action: str, caller: str, owner: str) -> None:
    expected = PRESET_EXPECTED[action][caller if owner == "A" else MIRROR[caller]]
    headers = world.accounts[caller].bearer if caller in world.accounts else {}
    response = call_preset(client, world, action, owner, headers)
    assert response.status_code == expected, response.text
    if expected >= 400:
        assert [e["classification"] for e in response.json()["errors"]] == [CLASSIFICATION[expected]]
    elif action == "presets list":
        assert {p["project_id"] for p in response.json()["export_presets"]} == {world.projects[owner].id}
    elif expected != 204:
        assert response.json()["project_id"] == world.projects[owner].id


@pytest.mark.parametrize("action", list(PRESET_EXPECTED))
def test_an_api_key_reads_presets_and_writes_none(client: TestClient, world: World, action: str) -> None:
    response = call_preset(client, world, action, "A", world.accounts["A"].apikey)
    assert response.status_code == (PRESET_EXPECTED[action]["A"] if action in ("presets list", "preset show")
                                    else 403), response.text


def test_a_hidden_preset_looks_exactly_like_a_missing_one(client: TestClient, world: World) -> None:
    hidden = client.get(f"/v1/export-presets/{world.presets['A'].id}", headers=world.accounts["B"].bearer)
    missing = client.get("/v1/export-presets/987654", headers=world.accounts["B"].bearer)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["errors"][0]["message"] == f"export preset {world.presets['A'].id} does not exist"
    assert missing.json()["errors"][0]["message"] == "export preset 987654 does not exist"
    project_a = world.projects["A"].id
    hidden = client.get(f"/v1/projects/{project_a}/export-presets", headers=world.accounts["B"].bearer)
    missing = client.get("/v1/projects/987654/export-presets", headers=world.accounts["B"].bearer)
    assert hidden.status_code == missing.status_code == 404
    assert [hidden.json()["errors"][0]["message"], missing.json()["errors"][0]["message"]] == [
        f"project {project_id} has no export presets you may see" for project_id in (project_a, 987654)]


def test_a_hidden_export_looks_exactly_like_a_missing_one(client: TestClient, world: World) -> None:
    hidden = client.get(f"/v1/exports/{world.waiting['A'].id}", headers=world.accounts["B"].bearer)
    missing = client.get("/v1/exports/987654", headers=world.accounts["B"].bearer)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == {"errors": [{**missing.json()["errors"][0],
                                         "message": f"export {world.waiting['A'].id} does not exist"}]}
    assert missing.json()["errors"][0]["message"] == "export 987654 does not exist"


@pytest.mark.parametrize("caller", ["A", "B", "staff", "anonymous"])
def test_download_links_are_their_own_credential(client: TestClient, world: World, caller: str) -> None:
    """Whoever holds A's link gets A's file; no credential replaces the signature."""
    headers = world.accounts[caller].bearer if caller in world.accounts else {}
    shown = client.get(f"/v1/exports/{world.succeeded['A'].id}", headers=world.accounts["A"].bearer)
    url = shown.json()["url"]
    assert fetch(client, url, headers=headers).content == b"A's file"
    unsigned = client.get(f"/v1/exports/{world.succeeded['A'].id}/download", headers=headers)
    assert unsigned.status_code == 404 and b"A's file" not in unsigned.content


def test_the_email_is_shown_only_to_the_recipient(client: TestClient, world: World) -> None:
    path = f"/v1/exports/{world.waiting['A'].id}"
    assert client.get(path, headers=world.accounts["A"].bearer).json()["user"]["email"] == "alice@example.com"
    as_staff = client.get(path, headers=world.accounts["staff"].bearer).json()["user"]
    assert "email" not in as_staff and as_staff["username"] == "alice"
    listed = client.get(f"/v1/projects/{world.projects['A'].id}/exports",
                        headers=world.accounts["staff"].bearer)
    assert all("email" not in export["user"] for export in listed.json()["exports"])

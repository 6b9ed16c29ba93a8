"""Every way to authenticate (SPEC §2), the 401 challenges, and read-only credentials refused writes."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from crowdexports.auth import credentials
from crowdexports.models import OAuthToken, Project, utcnow
from tests.api.conftest import CHEAP_HASHER, Account, request_export

BODY = {"format": "csv", "type": "orders"}


def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


@pytest.fixture
def export_url(session: Session, project_a: Project, alice: Account) -> str:
    return f"/v1/exports/{request_export(session, project_a, alice.user).id}"


@pytest.mark.parametrize("header", [
    "APIKey {key}", "apikey {key}", "APIKEY {key}", "ApiKey alice:{key}", "apikey  {key} ",
    "Bearer {token}", "bearer {token}", "BEARER {token}", "Basic {basic}", "basic {basic}",
])
def test_each_credential_form_reads(client: TestClient, alice: Account, export_url: str, header: str) -> None:
    basic_pair = base64.b64encode(f"alice:{alice.password}".encode()).decode()
    value = header.format(key=alice.api_key, token=alice.access_token, basic=basic_pair)
    response = client.get(export_url, headers={"Authorization": value})
    assert response.status_code == 200, response.text
    assert response.json()["user"]["email"] == "alice@example.com"


@pytest.mark.parametrize("header", [
    "APIKey wrong", "ApiKey bob:{alice_key}", "ApiKey alice:wrong", "APIKey ", "Basic {wrong_password}",
    "Basic {unknown_user}", "Basic !!!not-base64", "Basic " + base64.b64encode(b"no-colon").decode(),
    "Basic " + base64.b64encode(b"\xff\xfe:x").decode(), "Token {alice_key}", "{alice_key}",
])
def test_wrong_credentials_are_401_with_a_challenge(client: TestClient, alice: Account, bob: Account,
                                                    export_url: str, header: str) -> None:
    value = header.format(alice_key=alice.api_key,
                          wrong_password=base64.b64encode(b"alice:wrong").decode(),
                          unknown_user=base64.b64encode(f"nobody:{alice.password}".encode()).decode())
    response = client.get(export_url, headers={"Authorization": value})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'
    assert response.json()["errors"][0]["classification"] == "AuthenticationError"


@pytest.mark.parametrize("header", [
    "Basic {nul_username}", "Basic {nul_password}", "ApiKey ali\0ce:{alice_key}", "APIKey {alice_key}\0",
    "Bearer {alice_token}\0", "Bearer \0",
])
def test_a_nul_in_credentials_is_401_on_every_database(client: TestClient, alice: Account, export_url: str,
                                                      header: str) -> None:
    """Issue 12, point 8: PostgreSQL refuses a NUL in a query's text; that was a 500 with a traceback."""
    value = header.format(alice_key=alice.api_key, alice_token=alice.access_token,
                          nul_username=base64.b64encode(f"ali\0ce:{alice.password}".encode()).decode(),
                          nul_password=base64.b64encode(b"alice:pass\0word").decode())
    response = client.get(export_url, headers={"Authorization": value})
    assert response.status_code == 401, response.text
    assert response.json()["errors"][0]["classification"] == "AuthenticationError"


def test_no_credentials_is_401_without_an_error_code(client: TestClient, export_url: str) -> None:
    response = client.get(export_url)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'
    assert response.json() == {"errors": [{"classification": "AuthenticationError", "fieldNames": [],
                                           "message": "Authentication credentials were not provided."}]}


@pytest.mark.parametrize("problem", ["garbage", "expired", "revoked", "refresh-token-as-access", "empty"])
def test_bad_bearer_tokens_are_401_invalid_token(client: TestClient, session: Session, alice: Account,
                                                 export_url: str, problem: str) -> None:
    token = {"garbage": "x" * 43, "refresh-token-as-access": alice.refresh_token, "empty": ""}.get(
        problem, alice.access_token)
    if problem == "expired":
        session.execute(update(OAuthToken).values(access_expires_at=utcnow() - timedelta(seconds=1)))
    if problem == "revoked":
        session.execute(update(OAuthToken).values(revoked_at=utcnow()))
    session.commit()
    response = client.get(export_url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="api", error="invalid_token"'


@pytest.mark.parametrize("credential", ["apikey", "basic"])
def test_writes_with_read_only_credentials_are_403(client: TestClient, alice: Account, staff: Account,
                                                   project_a: Project, export_url: str,
                                                   credential: str) -> None:
    owner_headers = getattr(alice, credential)
    create = client.post(f"/v1/projects/{project_a.id}/exports", json=BODY, headers=owner_headers)
    cancel = client.post(f"{export_url}/cancel", headers=getattr(staff, credential))
    for response in (create, cancel):
        assert response.status_code == 403
        assert response.json()["errors"][0]["classification"] == "PermissionError"
    assert client.get(export_url, headers=alice.bearer).json()["status"] == "waiting"


def test_a_changed_password_stops_working_at_once(client: TestClient, session: Session, alice: Account,
                                                  export_url: str) -> None:
    assert client.get(export_url, headers=alice.basic).status_code == 200  # now remembered as verified
    alice.user.password_hash = credentials.hash_password("a new password", CHEAP_HASHER)
    session.commit()
    assert client.get(export_url, headers=alice.basic).status_code == 401
    assert client.get(export_url, headers=basic("alice", "a new password")).status_code == 200

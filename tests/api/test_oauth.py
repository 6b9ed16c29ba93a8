"""POST /oauth2/token/: password and refresh grants, rotation, and every RFC 6749 error."""

from __future__ import annotations

import base64
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from crowdexports.auth import accounts
from crowdexports.models import OAuthClient, OAuthToken, utcnow
from tests.api.conftest import Account

TOKEN = "/oauth2/token/"
ClientCreds = tuple[OAuthClient, str, str]


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def password_grant(client: TestClient, creds: ClientCreds, account: Account) -> dict[str, object]:
    response = client.post(TOKEN, headers=basic(creds[1], creds[2]),
                           data={"grant_type": "password", "username": account.user.username,
                                 "password": account.password})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def refresh(client: TestClient, creds: ClientCreds, refresh_token: object) -> httpx.Response:
    return client.post(TOKEN, headers=basic(creds[1], creds[2]),
                       data={"grant_type": "refresh_token", "refresh_token": refresh_token})


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert body["error_description"]
    assert len(body["errors"]) == 1 and body["errors"][0]["message"] == body["error_description"]
    assert response.headers["cache-control"] == "no-store"


def test_password_grant_answers_a_working_token_pair(client: TestClient, oauth_client: ClientCreds,
                                                     alice: Account) -> None:
    response = client.post(TOKEN, headers=basic(oauth_client[1], oauth_client[2]),
                           data={"grant_type": "password", "username": "alice", "password": alice.password})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "refresh_token", "scope", "token_type"}
    assert (body["expires_in"], body["scope"], body["token_type"]) == (36000, "read write", "Bearer")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    me = client.get("/v1/projects/999/exports", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 404  # authenticated (not 401), the project just does not exist


def test_client_credentials_in_the_form_body_are_accepted(client: TestClient, oauth_client: ClientCreds,
                                                          alice: Account) -> None:
    response = client.post(TOKEN, data={"grant_type": "password", "username": "alice",
                                        "password": alice.password, "client_id": oauth_client[1],
                                        "client_secret": oauth_client[2]})
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"


def test_refresh_rotates_and_the_old_refresh_token_stops_working(client: TestClient,
                                                                 oauth_client: ClientCreds,
                                                                 alice: Account) -> None:
    first = password_grant(client, oauth_client, alice)
    second = refresh(client, oauth_client, first["refresh_token"])
    assert second.status_code == 200
    new = second.json()
    assert new["access_token"] != first["access_token"] and new["refresh_token"] != first["refresh_token"]
    assert second.headers["cache-control"] == "no-store"
    old_access = {"Authorization": f"Bearer {first['access_token']}"}
    assert client.get("/v1/projects/999/exports", headers=old_access).status_code == 401
    assert client.get("/v1/projects/999/exports",
                      headers={"Authorization": f"Bearer {new['access_token']}"}).status_code == 404

    assert_oauth_error(refresh(client, oauth_client, first["refresh_token"]), 400, "invalid_grant")
    # Reuse of a rotated token means it leaked: the tokens that descend from it die too (RFC 9700).
    assert client.get("/v1/projects/999/exports",
                      headers={"Authorization": f"Bearer {new['access_token']}"}).status_code == 401
    assert_oauth_error(refresh(client, oauth_client, new["refresh_token"]), 400, "invalid_grant")


def test_a_refresh_token_works_only_for_its_own_client(client: TestClient, session: Session,
                                                       oauth_client: ClientCreds, alice: Account) -> None:
    other = accounts.create_client(session, "other client")
    tokens = password_grant(client, oauth_client, alice)
    assert_oauth_error(refresh(client, other, tokens["refresh_token"]), 400, "invalid_grant")
    assert refresh(client, oauth_client, tokens["refresh_token"]).status_code == 200


def test_an_expired_refresh_token_is_refused(client: TestClient, session: Session, oauth_client: ClientCreds,
                                             alice: Account) -> None:
    tokens = password_grant(client, oauth_client, alice)
    session.execute(update(OAuthToken).values(refresh_expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    assert_oauth_error(refresh(client, oauth_client, tokens["refresh_token"]), 400, "invalid_grant")


@pytest.mark.parametrize(("auth", "form"), [
    ("wrong-secret", {}),
    ("unknown-client", {}),
    ("none", {}),
    ("garbage", {}),
    ("none", {"client_id": "nope", "client_secret": "nope"}),
])
def test_invalid_client_is_401_with_a_basic_challenge(client: TestClient, oauth_client: ClientCreds,
                                                      alice: Account, auth: str,
                                                      form: dict[str, str]) -> None:
    headers = {
        "wrong-secret": basic(oauth_client[1], oauth_client[2] + "x"),
        "unknown-client": basic("unknown", oauth_client[2]),
        "garbage": {"Authorization": "Basic !!!"},
        "none": {},
    }[auth]
    response = client.post(TOKEN, headers=headers, data={"grant_type": "password", "username": "alice",
                                                         "password": alice.password, **form})
    assert_oauth_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic ")
    assert response.json()["errors"][0]["classification"] == "AuthenticationError"
    assert "access_token" not in response.text


@pytest.mark.parametrize(("form", "field_names"), [
    ({"grant_type": "password", "username": "alice", "password": "wrong"}, ["username", "password"]),
    ({"grant_type": "password", "username": "nobody", "password": "whatever"}, ["username", "password"]),
    ({"grant_type": "refresh_token", "refresh_token": "garbage"}, ["refresh_token"]),
])
def test_invalid_grant_is_400(client: TestClient, oauth_client: ClientCreds, alice: Account,
                              form: dict[str, str], field_names: list[str]) -> None:
    response = client.post(TOKEN, headers=basic(oauth_client[1], oauth_client[2]), data=form)
    assert_oauth_error(response, 400, "invalid_grant")
    assert response.json()["errors"][0]["fieldNames"] == field_names
    assert "www-authenticate" not in response.headers


@pytest.mark.parametrize(("client_id", "form", "status", "error"), [
    ("{id}", {"grant_type": "password", "username": "ali\0ce", "password": "x"}, 400, "invalid_grant"),
    ("{id}", {"grant_type": "password", "username": "alice", "password": "pass\0word"}, 400, "invalid_grant"),
    ("{id}", {"grant_type": "refresh_token", "refresh_token": "to\0ken"}, 400, "invalid_grant"),
    ("{id}\0", {"grant_type": "password", "username": "alice", "password": "x"}, 401, "invalid_client"),
    (None, {"grant_type": "password", "username": "alice", "password": "x", "client_id": "cli\0ent",
            "client_secret": "x"}, 401, "invalid_client"),
])
def test_a_nul_in_a_token_request_is_refused_on_every_database(
        client: TestClient, oauth_client: ClientCreds, alice: Account, client_id: str | None,
        form: dict[str, str], status: int, error: str) -> None:
    """Issue 12, point 8: PostgreSQL refuses a NUL in a query's text; that was a 500 with a traceback."""
    headers = basic(client_id.format(id=oauth_client[1]), oauth_client[2]) if client_id else {}
    assert_oauth_error(client.post(TOKEN, headers=headers, data=form), status, error)


def test_unsupported_grant_type_is_400(client: TestClient, oauth_client: ClientCreds) -> None:
    response = client.post(TOKEN, headers=basic(oauth_client[1], oauth_client[2]),
                           data={"grant_type": "client_credentials"})
    assert_oauth_error(response, 400, "unsupported_grant_type")
    assert response.json()["errors"][0]["fieldNames"] == ["grant_type"]


@pytest.mark.parametrize(("content", "content_type", "field_names"), [
    ("username=alice&password=x", "application/x-www-form-urlencoded", ["grant_type"]),
    ("grant_type=password&username=alice", "application/x-www-form-urlencoded", ["password"]),
    ("grant_type=refresh_token", "application/x-www-form-urlencoded", ["refresh_token"]),
    ("grant_type=password&grant_type=refresh_token", "application/x-www-form-urlencoded", ["grant_type"]),
    ('{"grant_type": "password"}', "application/json", []),
])
def test_invalid_request_is_400(client: TestClient, oauth_client: ClientCreds, content: str,
                                content_type: str, field_names: list[str]) -> None:
    headers = {**basic(oauth_client[1], oauth_client[2]), "Content-Type": content_type}
    response = client.post(TOKEN, headers=headers, content=content)
    assert_oauth_error(response, 400, "invalid_request")
    assert response.json()["errors"][0]["fieldNames"] == field_names


def test_client_authenticated_twice_is_invalid_request(client: TestClient, oauth_client: ClientCreds) -> None:
    response = client.post(TOKEN, headers=basic(oauth_client[1], oauth_client[2]),
                           data={"grant_type": "password", "client_id": oauth_client[1]})
    assert_oauth_error(response, 400, "invalid_request")


def test_the_token_endpoint_only_takes_post(client: TestClient) -> None:
    response = client.get(TOKEN)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["errors"][0]["classification"] == "MethodNotAllowedError"

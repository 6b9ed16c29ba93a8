"""Who may sync (staff with a Bearer token only), bodies that are not JSON objects, path ids, and acting
for a user: tokens and API keys minted by the platform (SPEC §7)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from crowdexports.auth import accounts, credentials
from crowdexports.config import Settings
from crowdexports.models import ApiKey, OAuthClient, OAuthToken, Project, User
from tests.api.conftest import Account
from tests.api.syncing import problems, project_body, put, put_raw, snapshot, user_body
from tests.factories import make_user

WRITES = [
    ("PUT", "/v1/users/500", user_body()),
    ("PUT", "/v1/projects/500", project_body(1)),
    ("PUT", "/v1/rewards/500", {"project_id": 1, "price": 1}),
    ("POST", "/v1/users/{alice}/tokens", None),
    ("POST", "/v1/users/{alice}/apikeys", None),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
@pytest.mark.parametrize("who", ["nobody", "bad token", "alice bearer", "staff apikey", "staff basic",
                                 "staff old apikey"])
def test_only_staff_with_a_bearer_token_may_sync(client: TestClient, session_factory: sessionmaker[Session],
                                                 alice: Account, staff: Account, method: str, path: str,
                                                 body: object, who: str) -> None:
    headers = {
        "nobody": {}, "bad token": {"Authorization": "Bearer nope"}, "alice bearer": alice.bearer,
        "staff apikey": staff.apikey, "staff basic": staff.basic,
        "staff old apikey": {"Authorization": f"ApiKey staffer:{staff.api_key}"},
    }[who]
    before = snapshot(session_factory)
    response = client.request(method, path.format(alice=alice.user.id), json=body, headers=headers)
    expected = 401 if who in ("nobody", "bad token") else 403
    assert response.status_code == expected, response.text
    assert response.json()["errors"][0]["classification"] == ("AuthenticationError" if expected == 401
                                                              else "PermissionError")
    if expected == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert snapshot(session_factory) == before


@pytest.mark.parametrize(("content", "content_type", "status", "classification"), [
    ('{"username": "zoe"}', "text/plain", 415, "UnsupportedMediaTypeError"),
    ('{"username": "zoe"}', None, 415, "UnsupportedMediaTypeError"),
    ("[]", "application/json", 400, "DeserializationError"),
    ('[{"username": "zoe"}]', "application/json", 400, "DeserializationError"),
    ('"zoe"', "application/json", 400, "DeserializationError"),
    ("null", "application/json", 400, "DeserializationError"),
    ("{", "application/json", 400, "DeserializationError"),
    ("", "application/json", 400, "DeserializationError"),
    ('{"username": NaN}', "application/json", 400, "DeserializationError"),
    ('{"price": Infinity}', "application/json", 400, "DeserializationError"),
    ('{"price": -Infinity}', "application/json", 400, "DeserializationError"),
    ('{"price": 1e999999999999999999999}', "application/json", 400, "DeserializationError"),
    ('{"price": ' + "9" * 5000 + "}", "application/json", 400, "DeserializationError"),
    ("[" * 50_000 + "]" * 50_000, "application/json", 413, "PayloadTooLargeError"),
    ("[" * 30_000 + "]" * 30_000, "application/json", 400, "DeserializationError"),
    (b'{"username": "\xff"}', "application/json", 400, "DeserializationError"),
    ('{"username": "' + "x" * 70_000 + '"}', "application/json", 413, "PayloadTooLargeError"),
])
@pytest.mark.parametrize("kind", ["users", "projects", "rewards"])
def test_a_body_that_is_not_a_json_object_is_refused(client: TestClient, staff: Account,
                                                     session_factory: sessionmaker[Session], kind: str,
                                                     content: str | bytes, content_type: str | None, status: int,
                                                     classification: str) -> None:
    before = snapshot(session_factory)
    headers = {**staff.bearer, **({"Content-Type": content_type} if content_type else {})}
    response = client.put(f"/v1/{kind}/7", content=content, headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["errors"][0]["classification"] == classification
    assert snapshot(session_factory) == before


@pytest.mark.parametrize("bad_id", ["abc", "0", "-1", "1.5", "9223372036854775808", "99999999999999999999", "%20"])
@pytest.mark.parametrize("kind", ["users", "projects", "rewards"])
def test_a_path_that_is_not_an_id_is_404_whatever_the_body(client: TestClient, staff: Account, kind: str,
                                                           bad_id: str) -> None:
    for content in (json.dumps(user_body()), "not json"):
        response = put_raw(client, staff, kind, bad_id, content)
        assert response.status_code == 404, response.text
        assert response.json()["errors"][0]["classification"] == "NotFoundError"


def test_the_largest_id_is_an_id(client: TestClient, staff: Account) -> None:
    assert put(client, staff, "users", 2**63 - 1, user_body()).status_code == 201
    assert client.post(f"/v1/users/{2**63 - 1}/tokens", headers=staff.bearer).status_code == 200


def test_a_token_minted_for_a_user_acts_as_them(client: TestClient, staff: Account, alice: Account,
                                                project_a: Project, session: Session,
                                                oauth_client: tuple[OAuthClient, str, str]) -> None:
    response = client.post(f"/v1/users/{alice.user.id}/tokens", headers=staff.bearer)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    tokens = response.json()
    assert set(tokens) == {"access_token", "expires_in", "refresh_token", "scope", "token_type"}
    assert (tokens["expires_in"], tokens["scope"], tokens["token_type"]) == (36000, "read write", "Bearer")
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    created = client.post(f"/v1/projects/{project_a.id}/exports", headers=bearer,
                          json={"format": "csv", "type": "orders"})
    assert created.status_code == 201 and created.json()["user"]["id"] == alice.user.id
    row = session.query(OAuthToken).filter_by(access_hash=credentials.hash_token(tokens["access_token"])).one()
    assert row.user_id == alice.user.id and row.client_id is None
    # Issued to no client, the pair refreshes with any OAuth client (the platform's own, say).
    _, client_id, secret = oauth_client
    refreshed = client.post("/oauth2/token/", auth=(client_id, secret),
                            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text


def test_an_api_key_minted_for_a_user_reads_as_them_once_shown(client: TestClient, staff: Account, alice: Account,
                                                               project_a: Project, session: Session) -> None:
    response = client.post(f"/v1/users/{alice.user.id}/apikeys", headers=staff.bearer)
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    key = response.json()["key"]
    stored = session.query(ApiKey).filter_by(key_hash=credentials.hash_token(key)).one()
    assert response.json() == {"id": stored.id, "user_id": alice.user.id, "key": key, "expires_at": None,
                               "revoked_at": None, "created_at": response.json()["created_at"]}
    assert stored.user_id == alice.user.id and key not in stored.key_hash
    headers = {"Authorization": f"APIKey {key}"}
    assert client.get(f"/v1/projects/{project_a.id}/exports", headers=headers).status_code == 200
    assert client.post(f"/v1/projects/{project_a.id}/exports", headers=headers,
                       json={"format": "csv", "type": "orders"}).status_code == 403
    second = client.post(f"/v1/users/{alice.user.id}/apikeys", headers=staff.bearer).json()["key"]
    assert second != key


@pytest.mark.parametrize("action", ["tokens", "apikeys"])
def test_credentials_are_not_minted_for_unknown_or_staff_users(client: TestClient, staff: Account,
                                                               session: Session, action: str,
                                                               session_factory: sessionmaker[Session]) -> None:
    other_staff = make_user(session, "root", is_staff=True)
    before = snapshot(session_factory)
    unknown = client.post(f"/v1/users/{other_staff.id + 1000}/{action}", headers=staff.bearer)
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["classification"] == "NotFoundError"
    for target in (other_staff.id, staff.user.id):
        refused = client.post(f"/v1/users/{target}/{action}", headers=staff.bearer)
        assert refused.status_code == 403 and refused.json()["errors"][0]["classification"] == "PermissionError"
    assert client.post(f"/v1/users/abc/{action}", headers=staff.bearer).status_code == 404
    assert snapshot(session_factory) == before


def test_the_syncing_account_cannot_be_overwritten_by_a_platform_user(
        client: TestClient, staff: Account, session: Session, settings: Settings,
        session_factory: sessionmaker[Session]) -> None:
    """The platform's user with the id of a synced staff account syncing would take over its credentials
    (a local staff account's id is refused whatever the body: tests/api/test_local_ids.py)."""
    assert put(client, staff, "users", 600, user_body("syncer", is_staff=True)).status_code == 201
    tokens = accounts.issue_tokens(session, session.get_one(User, 600), None, settings)
    syncer = Account(session.get_one(User, 600), "", "", tokens["access_token"], tokens["refresh_token"])
    before = snapshot(session_factory)
    for body in (user_body("zoe"), user_body("syncer", is_staff=False), user_body("syncer")):
        response = put(client, syncer, "users", 600, body)
        assert response.status_code == 409, response.text
        assert response.json()["errors"][0]["classification"] == "ConflictError"
    assert snapshot(session_factory) == before
    same = put(client, syncer, "users", 600, user_body("syncer", is_staff=True, first_name="S"))
    assert same.status_code == 200 and same.json()["is_staff"] is True and same.json()["first_name"] == "S"


def test_concurrent_puts_of_one_new_id_create_it_once(client: TestClient, staff: Account,
                                                      session_factory: sessionmaker[Session]) -> None:
    """The losers of the race to insert collide on the primary key, run again and update."""
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: put(client, staff, "users", 900, user_body("racer")).status_code,
                                 range(8)))
    assert sorted(statuses) == [200] * 7 + [201]
    with session_factory() as check:
        assert check.query(User).filter_by(username="racer").count() == 1


def test_concurrent_puts_of_one_username_for_two_ids_keep_it_unique(client: TestClient, staff: Account,
                                                                    session_factory: sessionmaker[Session]) -> None:
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda n: put(client, staff, "users", 910 + n, user_body("twin")), range(8)))
    assert sorted(response.status_code for response in responses) == [201] + [400] * 7
    assert all(problems(r) == [("ValueError", ["username"])] for r in responses if r.status_code == 400)
    with session_factory() as check:
        assert check.query(User).filter_by(username="twin").count() == 1


def test_sync_routes_are_documented(client: TestClient, settings: Settings) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path, method in (("/v1/users/{user_id}", "put"), ("/v1/projects/{project_id}", "put"),
                         ("/v1/rewards/{reward_id}", "put"), ("/v1/users/{user_id}/tokens", "post"),
                         ("/v1/users/{user_id}/apikeys", "post")):
        assert method in paths[path], path
    body = paths["/v1/users/{user_id}"]["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"username", "email", "password"} <= set(body["properties"])

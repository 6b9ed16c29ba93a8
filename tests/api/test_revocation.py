"""Revocation of access (issue 12): inactive users, password changes, API keys revoked or expired, a
user's tokens revoked, clients revoked, and the reuse of a refresh token the platform minted."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from crowdexports.auth import accounts
from crowdexports.config import Settings
from crowdexports.models import ApiKey, OAuthClient, Project, User, utcnow
from tests.api.conftest import Account
from tests.api.syncing import put, user_body
from tests.api.test_oauth import ClientCreds, assert_oauth_error, basic, refresh

TOKEN = "/oauth2/token/"


def reads(client: TestClient, project: Project, headers: dict[str, str]) -> int:
    """The status of a read of the project's exports with these credentials: 200, or 401 if refused."""
    return client.get(f"/v1/projects/{project.id}/exports", headers=headers).status_code


def bearer(tokens: dict[str, object]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def mint_tokens(client: TestClient, staff: Account, account: Account) -> dict[str, object]:
    response = client.post(f"/v1/users/{account.user.id}/tokens", headers=staff.bearer)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def password_grant(client: TestClient, creds: ClientCreds, username: str, password: str) -> httpx.Response:
    return client.post(TOKEN, headers=basic(creds[1], creds[2]),
                       data={"grant_type": "password", "username": username, "password": password})


def alice_body(**fields: object) -> dict[str, object]:
    return user_body("alice", **fields)


PLATFORM_ALICE, PLATFORM_SYNCER = 4201, 4202  # the platform's ids: a sync PUT refuses a local row's


def synced_account(client: TestClient, session: Session, settings: Settings, client_row: OAuthClient,
                   syncer: Account, user_id: int, body: dict[str, object]) -> Account:
    """A user the platform synced (PUT with a password), with every credential it can present."""
    assert put(client, syncer, "users", user_id, body).status_code == 201
    user = session.get_one(User, user_id)
    tokens = accounts.issue_tokens(session, user, client_row, settings)
    return Account(user, str(body["password"]), accounts.create_api_key(session, user)[1],
                   tokens["access_token"], tokens["refresh_token"])


@pytest.fixture
def synced_alice(client: TestClient, session: Session, settings: Settings, oauth_client: ClientCreds,
                 staff: Account) -> Account:
    return synced_account(client, session, settings, oauth_client[0], staff, PLATFORM_ALICE,
                          alice_body(password="alice's platform password"))


@pytest.fixture
def synced_project(session: Session, synced_alice: Account) -> Project:
    return accounts.create_project(session, owner=synced_alice.user, name="Solar Kettle")


def test_an_inactive_user_is_refused_every_credential_at_once(client: TestClient, oauth_client: ClientCreds,
                                                              staff: Account, synced_alice: Account,
                                                              synced_project: Project) -> None:
    alice, project_a = synced_alice, synced_project
    minted = mint_tokens(client, staff, alice)
    for headers in (alice.bearer, alice.apikey, alice.basic, bearer(minted)):
        assert reads(client, project_a, headers) == 200

    response = put(client, staff, "users", alice.user.id, alice_body(is_active=False))
    assert response.status_code == 200, response.text
    assert response.json()["is_active"] is False

    for headers in (alice.bearer, alice.apikey, alice.basic, {"Authorization": f"ApiKey alice:{alice.api_key}"},
                    bearer(minted)):
        assert reads(client, project_a, headers) == 401
    assert_oauth_error(password_grant(client, oauth_client, "alice", alice.password), 400, "invalid_grant")
    assert_oauth_error(refresh(client, oauth_client, alice.refresh_token), 400, "invalid_grant")
    assert_oauth_error(refresh(client, oauth_client, minted["refresh_token"]), 400, "invalid_grant")
    for action in ("tokens", "apikeys"):
        refused = client.post(f"/v1/users/{alice.user.id}/{action}", headers=staff.bearer)
        assert refused.status_code == 409, refused.text

    # Active again: what was neither revoked nor expired works again, refresh tokens included.
    assert put(client, staff, "users", alice.user.id, alice_body()).json()["is_active"] is True
    for headers in (alice.bearer, alice.apikey, alice.basic, bearer(minted)):
        assert reads(client, project_a, headers) == 200
    assert refresh(client, oauth_client, alice.refresh_token).status_code == 200


def test_the_syncing_account_cannot_make_itself_inactive(client: TestClient, session: Session, settings: Settings,
                                                        oauth_client: ClientCreds, staff: Account) -> None:
    syncer = synced_account(client, session, settings, oauth_client[0], staff, PLATFORM_SYNCER,
                            user_body("syncer", is_staff=True, password="the syncer's password"))
    response = put(client, syncer, "users", PLATFORM_SYNCER, user_body("syncer", is_staff=True, is_active=False))
    assert response.status_code == 409, response.text
    assert response.json()["errors"][0]["classification"] == "ConflictError"


def test_a_password_change_revokes_the_users_tokens_and_api_keys(client: TestClient, oauth_client: ClientCreds,
                                                                 staff: Account, synced_alice: Account,
                                                                 synced_project: Project) -> None:
    alice, project_a = synced_alice, synced_project
    minted = mint_tokens(client, staff, alice)
    new_password = "a brand new password"
    assert put(client, staff, "users", alice.user.id, alice_body(password=new_password)).status_code == 200

    for headers in (alice.bearer, alice.apikey, bearer(minted), alice.basic):
        assert reads(client, project_a, headers) == 401
    assert_oauth_error(refresh(client, oauth_client, alice.refresh_token), 400, "invalid_grant")
    assert_oauth_error(refresh(client, oauth_client, minted["refresh_token"]), 400, "invalid_grant")
    assert_oauth_error(password_grant(client, oauth_client, "alice", alice.password), 400, "invalid_grant")

    fresh = password_grant(client, oauth_client, "alice", new_password)
    assert fresh.status_code == 200
    # The same password sent again is no change: the new session lives on.
    assert put(client, staff, "users", alice.user.id, alice_body(password=new_password)).status_code == 200
    assert reads(client, project_a, bearer(fresh.json())) == 200


def test_an_api_key_is_revoked_by_its_owner_with_a_bearer_token(client: TestClient, alice: Account,
                                                                project_a: Project, session: Session) -> None:
    key_id = session.query(ApiKey).filter_by(user_id=alice.user.id).one().id
    listed = client.get(f"/v1/users/{alice.user.id}/apikeys", headers=alice.apikey)
    assert listed.status_code == 200
    assert [key["id"] for key in listed.json()["api_keys"]] == [key_id]
    assert "key" not in listed.json()["api_keys"][0]

    read_only = client.delete(f"/v1/apikeys/{key_id}", headers=alice.apikey)
    assert read_only.status_code == 403  # her own key, but API keys only read
    assert reads(client, project_a, alice.apikey) == 200

    assert client.delete(f"/v1/apikeys/{key_id}", headers=alice.bearer).status_code == 204
    assert reads(client, project_a, alice.apikey) == 401
    assert client.delete(f"/v1/apikeys/{key_id}", headers=alice.bearer).status_code == 204  # again: no change
    revoked = client.get(f"/v1/users/{alice.user.id}/apikeys", headers=alice.bearer).json()["api_keys"][0]
    assert revoked["revoked_at"] is not None


def test_staff_list_and_revoke_anyones_api_key(client: TestClient, staff: Account, alice: Account,
                                               project_a: Project) -> None:
    minted = client.post(f"/v1/users/{alice.user.id}/apikeys", headers=staff.bearer).json()
    listed = client.get(f"/v1/users/{alice.user.id}/apikeys", headers=staff.bearer).json()["api_keys"]
    assert len(listed) == 2 and listed[1]["id"] == minted["id"]
    assert client.delete(f"/v1/apikeys/{minted['id']}", headers=staff.bearer).status_code == 204
    assert reads(client, project_a, {"Authorization": f"APIKey {minted['key']}"}) == 401
    assert reads(client, project_a, alice.apikey) == 200  # her other key is untouched


def test_another_users_api_key_does_not_exist_for_an_owner(client: TestClient, alice: Account, bob: Account,
                                                           project_a: Project, session: Session) -> None:
    key_id = session.query(ApiKey).filter_by(user_id=alice.user.id).one().id
    for response in (client.delete(f"/v1/apikeys/{key_id}", headers=bob.bearer),
                     client.delete(f"/v1/apikeys/{key_id + 1000}", headers=bob.bearer),
                     client.get(f"/v1/users/{alice.user.id}/apikeys", headers=bob.bearer)):
        assert response.status_code == 404, response.text
        assert response.json()["errors"][0]["classification"] == "NotFoundError"
    assert reads(client, project_a, alice.apikey) == 200


def test_an_expired_api_key_is_refused(client: TestClient, staff: Account, alice: Account, project_a: Project,
                                       session: Session) -> None:
    response = client.post(f"/v1/users/{alice.user.id}/apikeys", headers=staff.bearer,
                           json={"expires_in_days": 30})
    assert response.status_code == 201, response.text
    minted = response.json()
    assert minted["expires_at"] is not None
    headers = {"Authorization": f"APIKey {minted['key']}"}
    assert reads(client, project_a, headers) == 200
    session.execute(update(ApiKey).where(ApiKey.id == minted["id"]).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    assert reads(client, project_a, headers) == 401


@pytest.mark.parametrize(("body", "classification"), [
    ({"expires_in_days": 0}, "ValueError"), ({"expires_in_days": 3651}, "ValueError"),
    ({"expires_in_days": "7"}, "TypeError"), ({"expires_in_days": 1.5}, "TypeError"),
    ({"expires_in_days": True}, "TypeError"), ({"expires": 7}, "UnknownFieldError"),
])
def test_a_bad_expiry_is_400(client: TestClient, staff: Account, alice: Account, body: dict[str, object],
                             classification: str) -> None:
    response = client.post(f"/v1/users/{alice.user.id}/apikeys", headers=staff.bearer, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["classification"] == classification


def test_staff_revoke_all_of_a_users_tokens(client: TestClient, oauth_client: ClientCreds, staff: Account,
                                            alice: Account, bob: Account, project_a: Project,
                                            project_b: Project) -> None:
    minted = mint_tokens(client, staff, alice)
    refused = client.post(f"/v1/users/{alice.user.id}/tokens/revoke", headers=alice.bearer)
    assert refused.status_code == 403
    response = client.post(f"/v1/users/{alice.user.id}/tokens/revoke", headers=staff.bearer)
    assert response.status_code == 200, response.text
    assert response.json() == {"revoked": 2}
    assert reads(client, project_a, alice.bearer) == 401
    assert reads(client, project_a, bearer(minted)) == 401
    assert_oauth_error(refresh(client, oauth_client, alice.refresh_token), 400, "invalid_grant")
    assert reads(client, project_a, alice.apikey) == 200  # keys are revoked one by one
    assert reads(client, project_b, bob.bearer) == 200
    assert client.post("/v1/users/999999/tokens/revoke", headers=staff.bearer).status_code == 404


def test_a_revoked_client_gets_no_tokens_and_its_tokens_die(client: TestClient, session: Session,
                                                             oauth_client: ClientCreds, alice: Account,
                                                             project_a: Project) -> None:
    other = accounts.create_client(session, "other client")
    from_other = password_grant(client, other, "alice", alice.password).json()
    assert accounts.revoke_client(session, oauth_client[0]) == 1
    assert reads(client, project_a, alice.bearer) == 401
    assert_oauth_error(password_grant(client, oauth_client, "alice", alice.password), 401, "invalid_client")
    assert_oauth_error(refresh(client, oauth_client, alice.refresh_token), 401, "invalid_client")
    assert reads(client, project_a, bearer(from_other)) == 200


def test_reusing_a_minted_refresh_token_revokes_the_pairs_issued_from_it(client: TestClient,
                                                                        oauth_client: ClientCreds,
                                                                        session: Session, staff: Account,
                                                                        alice: Account, project_a: Project) -> None:
    other = accounts.create_client(session, "other client")
    minted = mint_tokens(client, staff, alice)
    first = refresh(client, oauth_client, minted["refresh_token"]).json()
    second = refresh(client, oauth_client, first["refresh_token"]).json()
    assert reads(client, project_a, bearer(second)) == 200

    # The minted token again, from another client: it leaked, so its whole family dies.
    assert_oauth_error(refresh(client, other, minted["refresh_token"]), 400, "invalid_grant")
    assert reads(client, project_a, bearer(second)) == 401
    assert_oauth_error(refresh(client, oauth_client, second["refresh_token"]), 400, "invalid_grant")
    assert reads(client, project_a, alice.bearer) == 200  # her other session is another family


def test_revocation_routes_are_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"200", "401", "404", "429"} <= set(paths["/v1/users/{user_id}/apikeys"]["get"]["responses"])
    assert {"204", "401", "403", "404", "429"} <= set(paths["/v1/apikeys/{api_key_id}"]["delete"]["responses"])
    assert {"200", "401", "403", "404", "429"} <= set(paths["/v1/users/{user_id}/tokens/revoke"]["post"]["responses"])
    created = paths["/v1/users/{user_id}/apikeys"]["post"]
    assert "expires_in_days" in created["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert "is_active" in paths["/v1/users/{user_id}"]["put"]["requestBody"]["content"]["application/json"][
        "schema"]["properties"]

"""Rate limits (issues 6 and 12): 429 RateLimitError with Retry-After in the Ulule envelope, per credential
on the API, on failed password checks per username and address, per username and per address, per
authenticated OAuth client and per address on the token endpoint; counted in the shared store (a SQLite
file of its own here, Redis on the scale-out stack)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crowdexports.auth import credentials
from crowdexports.models import OAuthClient, Project
from crowdexports.ratelimit import Limit, RedisStore, SqliteStore
from crowdexports.runtime import Runtime
from tests.api.conftest import Account, limited_client, request_export
from tests.conftest import STACK

TOKEN = "/oauth2/token/"


def at(client: TestClient, address: str) -> TestClient:
    """The same app (running in `client`), called from another IP address."""
    return TestClient(client.app, client=(address, 50000))


@pytest.fixture
def export_url(session: Session, project_a: Project, alice: Account) -> str:
    return f"/v1/exports/{request_export(session, project_a, alice.user).id}"


def assert_limited(answer: httpx.Response, window: int = 60) -> None:
    assert answer.status_code == 429, answer.text
    assert 1 <= int(answer.headers["Retry-After"]) <= window
    [error] = answer.json()["errors"]
    assert error["classification"] == "RateLimitError" and "try again in" in error["message"]


def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def test_the_store_is_shared_by_the_stack(runtime: Runtime) -> None:
    with limited_client(runtime) as client:
        # TestClient types its app as any ASGI app; this one is ours, a FastAPI app with this state.
        store = client.app.state.throttle.limiter.store  # type: ignore[attr-defined]
        assert isinstance(store, SqliteStore if STACK == "embedded" else RedisStore)


def test_each_credential_has_its_own_budget(runtime: Runtime, alice: Account, export_url: str) -> None:
    with limited_client(runtime, rate_limit_api=Limit(3, 60)) as client:
        for headers in (alice.apikey, alice.bearer, alice.basic):  # one user, three credentials
            assert [client.get(export_url, headers=headers).status_code for _ in range(3)] == [200] * 3
            assert_limited(client.get(export_url, headers=headers))
        # A credential that matches nothing is counted too: a flood of it is refused before any lookup.
        wrong = {"Authorization": f"APIKey {secrets.token_urlsafe(32)}"}
        assert [client.get(export_url, headers=wrong).status_code for _ in range(3)] == [401] * 3
        assert_limited(client.get(export_url, headers=wrong))


def test_off_counts_nothing(runtime: Runtime, alice: Account, export_url: str) -> None:
    with limited_client(runtime, rate_limit_api=None) as client:
        assert {client.get(export_url, headers=alice.apikey).status_code for _ in range(30)} == {200}


def test_password_guessing_over_basic_is_limited_per_username(runtime: Runtime, alice: Account,
                                                               export_url: str) -> None:
    with limited_client(runtime, rate_limit_password=Limit(3, 60)) as client:
        guesses = [client.get(export_url, headers=basic("alice", f"guess{n}")).status_code for n in range(3)]
        assert guesses == [401] * 3
        assert_limited(client.get(export_url, headers=basic("alice", "guess3")))
        # From this address, the right password is refused too while the window lasts: a guess cannot be
        # told from it. Her API key and token still work: only password checks are limited.
        assert_limited(client.get(export_url, headers=alice.basic))
        assert client.get(export_url, headers=alice.apikey).status_code == 200


def test_a_remembered_basic_password_does_not_count_as_a_password_check(runtime: Runtime, alice: Account,
                                                                        export_url: str) -> None:
    with limited_client(runtime, rate_limit_password=Limit(1, 60)) as client:
        assert {client.get(export_url, headers=alice.basic).status_code for _ in range(20)} == {200}


def _password_grant(client: TestClient, oauth_client: tuple[OAuthClient, str, str], username: str,
                    password: str) -> httpx.Response:
    _, client_id, secret = oauth_client
    return client.post(TOKEN, auth=(client_id, secret),
                       data={"grant_type": "password", "username": username, "password": password})


def test_failed_password_grants_are_limited_per_username(runtime: Runtime, alice: Account, bob: Account,
                                                         oauth_client: tuple[OAuthClient, str, str]) -> None:
    with limited_client(runtime, rate_limit_password=Limit(2, 60)) as client:
        assert _password_grant(client, oauth_client, "alice", alice.password).status_code == 200
        assert [_password_grant(client, oauth_client, "alice", "wrong").status_code for _ in range(2)] == [400] * 2
        assert_limited(_password_grant(client, oauth_client, "alice", alice.password))
        assert _password_grant(client, oauth_client, "bob", bob.password).status_code == 200


def test_token_requests_are_limited_per_client_and_per_address(
        runtime: Runtime, session: Session, alice: Account, bob: Account,
        oauth_client: tuple[OAuthClient, str, str]) -> None:
    with limited_client(runtime, rate_limit_token_client=Limit(2, 60)) as client:
        assert _password_grant(client, oauth_client, "alice", alice.password).status_code == 200
        assert _password_grant(client, oauth_client, "bob", bob.password).status_code == 200
        assert_limited(_password_grant(client, oauth_client, "bob", bob.password))
    with limited_client(runtime, rate_limit_token_address=Limit(2, 3600)) as client:
        assert _password_grant(client, oauth_client, "alice", alice.password).status_code == 200
        assert _password_grant(client, oauth_client, "bob", bob.password).status_code == 200
        assert_limited(_password_grant(client, oauth_client, "bob", bob.password), window=3600)


def test_one_api_key_has_one_budget_however_the_header_spells_it(runtime: Runtime, alice: Account,
                                                                 export_url: str) -> None:
    """Issue 12, point 11: the count is keyed on the key, not on the header's text."""
    spellings = [f"APIKey {alice.api_key}", f"ApiKey :{alice.api_key}", f"ApiKey alice:{alice.api_key}"]
    with limited_client(runtime, rate_limit_api=Limit(3, 60)) as client:
        answers = [client.get(export_url, headers={"Authorization": spelling}).status_code for spelling in spellings]
        assert answers == [200] * 3
        for spelling in spellings:
            assert_limited(client.get(export_url, headers={"Authorization": spelling}))


def test_a_wrong_client_secret_spends_its_address_budget_not_the_clients(
        runtime: Runtime, alice: Account, oauth_client: tuple[OAuthClient, str, str]) -> None:
    """Issue 12, point 4: knowing a client_id is not enough to lock the platform's logins out."""
    _, client_id, _ = oauth_client
    wrong_secret = (oauth_client[0], client_id, "not-the-secret")
    with limited_client(runtime, rate_limit_token_client=Limit(2, 60), rate_limit_token_address=Limit(5, 60)) as client:
        stranger = at(client, "203.0.113.9")
        answers = [_password_grant(stranger, wrong_secret, "alice", "x").status_code for _ in range(5)]
        assert answers == [401] * 5
        assert_limited(_password_grant(stranger, wrong_secret, "alice", "x"))  # their address is spent
        platform = at(client, "192.0.2.10")
        assert [_password_grant(platform, oauth_client, "alice", alice.password).status_code
                for _ in range(2)] == [200] * 2
        assert_limited(_password_grant(platform, oauth_client, "alice", alice.password))  # the client's own


def test_a_stranger_spending_their_budget_does_not_lock_the_owner_out(
        runtime: Runtime, alice: Account, export_url: str, oauth_client: tuple[OAuthClient, str, str]) -> None:
    """Issue 12, point 5: failures count per (username, address), strictly, so a stranger's wrong
    passwords lock out only the stranger; the owner's right passwords count nothing."""
    with limited_client(runtime, rate_limit_password=Limit(3, 60)) as client:
        stranger = at(client, "203.0.113.9")
        guesses = [stranger.get(export_url, headers=basic("alice", f"guess{n}")).status_code for n in range(3)]
        assert guesses == [401] * 3
        assert_limited(stranger.get(export_url, headers=basic("alice", "guess3")))
        assert_limited(_password_grant(stranger, oauth_client, "alice", "guess4"))  # either door
        owner = at(client, "192.0.2.1")
        assert owner.get(export_url, headers=alice.basic).status_code == 200
        assert [_password_grant(owner, oauth_client, "alice", alice.password).status_code
                for _ in range(5)] == [200] * 5


def test_failures_from_many_addresses_spend_the_usernames_looser_budget(
        runtime: Runtime, alice: Account, export_url: str, oauth_client: tuple[OAuthClient, str, str]) -> None:
    """Many addresses guessing together still meet a limit per username (the documented price: then
    the owner's password waits too; tokens and API keys do not)."""
    with limited_client(runtime, rate_limit_password=Limit(2, 60), rate_limit_password_user=Limit(4, 60)) as client:
        for address in ("203.0.113.1", "203.0.113.2"):
            guesses = [at(client, address).get(export_url, headers=basic("alice", f"{address}-{n}")).status_code
                       for n in range(2)]
            assert guesses == [401] * 2
        assert_limited(at(client, "192.0.2.1").get(export_url, headers=alice.basic))
        assert client.get(export_url, headers=alice.apikey).status_code == 200


def test_failed_password_checks_are_limited_per_address_before_any_hash(
        runtime: Runtime, export_url: str, oauth_client: tuple[OAuthClient, str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 12, point 2: a new random username each time still meets the address's budget, on
    HTTP Basic and on the password grant alike, and once it is spent no hash is computed."""
    hashed: list[str] = []

    def verify_password(password: str, password_hash: str | None) -> bool:
        hashed.append(password)
        return False

    monkeypatch.setattr(credentials, "verify_password", verify_password)
    with limited_client(runtime, rate_limit_password_address=Limit(4, 60)) as client:
        def random_user() -> str:
            return secrets.token_hex(8)

        answers = [client.get(export_url, headers=basic(random_user(), "pw")).status_code for _ in range(2)]
        answers += [_password_grant(client, oauth_client, random_user(), "pw").status_code for _ in range(2)]
        assert answers == [401, 401, 400, 400]
        assert_limited(client.get(export_url, headers=basic(random_user(), "pw")))
        assert_limited(_password_grant(client, oauth_client, random_user(), "pw"))
        assert len(hashed) == 4
        assert at(client, "192.0.2.1").get(export_url, headers=basic(random_user(), "pw")).status_code == 401


@pytest.fixture
def unreachable_store(runtime: Runtime) -> Iterator[TestClient]:
    """The counts' store is a Redis that does not answer (a closed port)."""
    with limited_client(runtime, rate_limit_api=Limit(1, 60), rate_limit_url="redis://127.0.0.1:9/0") as client:
        yield client


def test_a_dead_store_lets_requests_through(unreachable_store: TestClient, alice: Account, export_url: str,
                                            caplog: pytest.LogCaptureFixture) -> None:
    """Failing open (ratelimit/limiter.py): losing the limiter must not take the API down."""
    answers = [unreachable_store.get(export_url, headers=alice.apikey).status_code for _ in range(5)]
    assert answers == [200] * 5
    assert "rate limits are not enforced" in caplog.text

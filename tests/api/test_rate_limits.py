"""Rate limits (issue 6): 429 RateLimitError with Retry-After in the Ulule envelope, per credential on the
API, per username on every password check, per OAuth client and per address on the token endpoint;
counted in the shared store (a SQLite file of its own here, Redis on the scale-out stack)."""

from __future__ import annotations

import base64
import dataclasses
import secrets
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crowdexports.api.app import create_app
from crowdexports.models import OAuthClient, Project
from crowdexports.ratelimit import Limit, RedisStore, SqliteStore
from crowdexports.runtime import Runtime
from tests.api.conftest import Account, request_export
from tests.conftest import STACK

TOKEN = "/oauth2/token/"


def limited_client(runtime: Runtime, **limits: Limit | None | str) -> TestClient:
    settings = runtime.settings.model_copy(update=limits)
    settings.__dict__.pop("resolved_rate_limit_url", None)  # a cached_property: computed again from the update
    return TestClient(create_app(dataclasses.replace(runtime, settings=settings)))


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
        # The right password is refused too while the username's window lasts: a guess cannot be told
        # from it. Her API key and token still work: only password checks are limited.
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


def test_password_grants_are_limited_per_username(runtime: Runtime, alice: Account, bob: Account,
                                                  oauth_client: tuple[OAuthClient, str, str]) -> None:
    with limited_client(runtime, rate_limit_password=Limit(2, 60)) as client:
        assert _password_grant(client, oauth_client, "alice", "wrong").status_code == 400
        assert _password_grant(client, oauth_client, "alice", alice.password).status_code == 200
        assert_limited(_password_grant(client, oauth_client, "alice", alice.password))
        assert _password_grant(client, oauth_client, "bob", bob.password).status_code == 200


def test_token_requests_are_limited_per_client_and_per_address(
        runtime: Runtime, session: Session, alice: Account, bob: Account,
        oauth_client: tuple[OAuthClient, str, str]) -> None:
    with limited_client(runtime, rate_limit_token_client=Limit(2, 60)) as client:
        assert _password_grant(client, oauth_client, "alice", alice.password).status_code == 200
        assert _password_grant(client, oauth_client, "bob", bob.password).status_code == 200
        assert_limited(_password_grant(client, oauth_client, "bob", bob.password))
        # An unknown client id is counted as well (before the client is checked): 401, then 429.
        stranger = (oauth_client[0], "no-such-client", "x")
        assert [_password_grant(client, stranger, "alice", "x").status_code for _ in range(2)] == [401] * 2
        assert_limited(_password_grant(client, stranger, "alice", "x"))
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

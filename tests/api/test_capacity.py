"""What keeps the API fast and bounded under load (issues 6 and 12): HTTP Basic without a hash per request,
password checks bounded in number at once, requests admitted a few at a time so that none waits on the
database pool, and the pool sizes."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import secrets
import threading
import time
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crowdexports.api.app import create_app
from crowdexports.auth import credentials
from crowdexports.config import Settings
from crowdexports.database.engine import SPARE_CONNECTIONS, make_engine, make_session_factory
from crowdexports.models import OAuthClient, Project
from crowdexports.runtime import Runtime, connections_needed
from tests.api.conftest import Account, ignore_dispatch, request_export
from tests.conftest import STACK


def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


@pytest.fixture
def export_url(session: Session, project_a: Project, alice: Account) -> str:
    return f"/v1/exports/{request_export(session, project_a, alice.user).id}"


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The passwords argon2 checked, in order (credentials.verify_password, spied on)."""
    checked: list[str] = []
    real_verify = credentials.verify_password

    def counted(password: str, password_hash: str | None) -> bool:
        checked.append(password)
        return real_verify(password, password_hash)

    monkeypatch.setattr(credentials, "verify_password", counted)
    return checked


def test_basic_credentials_are_hashed_once_then_remembered(client: TestClient, alice: Account, export_url: str,
                                                           verifications: list[str]) -> None:
    for _ in range(20):
        assert client.get(export_url, headers=alice.basic).status_code == 200
    assert verifications == [alice.password]
    # A wrong password is never remembered: each try costs a full hash, whatever came before.
    wrong = {"Authorization": "Basic " + base64.b64encode(b"alice:nope").decode()}
    for _ in range(3):
        assert client.get(export_url, headers=wrong).status_code == 401
    assert verifications == [alice.password] + ["nope"] * 3


def test_the_memory_of_verified_passwords_holds_no_password(client: TestClient, alice: Account,
                                                           export_url: str) -> None:
    assert client.get(export_url, headers=alice.basic).status_code == 200
    # TestClient types its app as any ASGI app; this one is ours, a FastAPI app with this state.
    remembered: credentials.VerifiedPasswords = client.app.state.basic_passwords.verified  # type: ignore[attr-defined]
    keys = list(remembered._entries)
    assert len(keys) == 1 and len(keys[0]) == 32  # an HMAC-SHA256 digest
    assert alice.password.encode() not in keys[0] and b"alice" not in keys[0]
    # Keyed: the same pair under another server secret gives another key.
    other = credentials.VerifiedPasswords("another-secret-key-0123456789")
    assert other.key("alice", alice.password, "h") != remembered.key("alice", alice.password, "h")


def test_requests_arriving_together_share_one_password_check(runtime: Runtime, alice: Account, export_url: str,
                                                             verifications: list[str]) -> None:
    """A client opening 64 connections at once with the same Basic pair costs one argon2 check (and one
    count against the username's password limit, 10 a minute by default), not 64."""
    app = create_app(runtime, ignore_dispatch)

    async def burst() -> list[int]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
            answers = await asyncio.gather(*(http.get(export_url, headers=alice.basic) for _ in range(64)))
        return [answer.status_code for answer in answers]

    assert asyncio.run(burst()) == [200] * 64
    assert verifications == [alice.password]


@pytest.fixture
def held_during_checks(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The pool's checked-out connections seen in each argon2 check, beside those held before it. Each
    check is slowed so that every request of a burst has arrived and waits on it."""
    pool: Any = runtime.engine.pool
    held: list[int] = []
    held_before = pool.checkedout()
    real_verify = credentials.verify_password

    def slow_verify(password: str, password_hash: str | None) -> bool:
        time.sleep(0.3)
        held.append(pool.checkedout() - held_before)
        return real_verify(password, password_hash)

    monkeypatch.setattr(credentials, "verify_password", slow_verify)
    return held


def test_requests_waiting_on_a_password_check_hold_no_database_connection(
        runtime: Runtime, alice: Account, export_url: str, held_during_checks: list[int]) -> None:
    """While one argon2 check runs and the other admitted requests wait for it, none of them holds a
    pooled connection: on SQLite each open one keeps its own page cache, and the soak of `make bench-api`
    saw a burst of Basic requests leave 16 per process open, 32 MiB that stayed."""
    app = create_app(runtime, ignore_dispatch)

    async def burst() -> list[int]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
            answers = await asyncio.gather(*(http.get(export_url, headers=alice.basic) for _ in range(64)))
        return [answer.status_code for answer in answers]

    assert asyncio.run(burst()) == [200] * 64
    assert held_during_checks == [0]
    pool: Any = runtime.engine.pool
    assert pool.checkedout() == 0  # and every connection is back after the burst


def test_a_password_grant_holds_no_database_connection_while_it_hashes(
        client: TestClient, oauth_client: tuple[OAuthClient, str, str], alice: Account,
        held_during_checks: list[int]) -> None:
    _, client_id, secret = oauth_client
    response = client.post("/oauth2/token/", auth=(client_id, secret),
                           data={"grant_type": "password", "username": "alice", "password": alice.password})
    assert response.status_code == 200, response.text
    assert held_during_checks == [0]


def test_password_checks_at_once_are_bounded_and_the_overflow_is_refused_at_once(
        runtime: Runtime, settings: Settings, export_url: str, oauth_client: tuple[OAuthClient, str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 12, point 2: a burst of Basic requests and password grants with a new random username each
    (no memory, no shared check, no username's budget) never runs more argon2 checks at once than
    `password_checks` (each is 64 MiB): a few more wait, the rest get 429 at once, and /healthz keeps
    answering."""
    running, most = 0, 0
    lock = threading.Lock()

    def argon2(password: str, password_hash: str | None) -> bool:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)  # long enough for the burst to pile up behind it
        with lock:
            running -= 1
        return False

    monkeypatch.setattr(credentials, "verify_password", argon2)
    bounded = settings.model_copy(update={"password_checks": 2, "password_checks_waiting": 3,
                                          "rate_limit_password_address": None})
    app = create_app(dataclasses.replace(runtime, settings=bounded), ignore_dispatch)

    async def burst() -> tuple[list[httpx.Response], list[httpx.Response], list[int]]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
            basic_guesses = [http.get(export_url, headers=basic(secrets.token_hex(8), "pw")) for _ in range(100)]
            grants = [http.post("/oauth2/token/", auth=oauth_client[1:], data={
                "grant_type": "password", "username": secrets.token_hex(8), "password": "pw"}) for _ in range(40)]
            probes = [http.get("/healthz") for _ in range(5)]
            answers = await asyncio.gather(*basic_guesses, *grants, *probes)
        return answers[:100], answers[100:140], [answer.status_code for answer in answers[140:]]

    basic_answers, grant_answers, health = asyncio.run(burst())
    answers = basic_answers + grant_answers
    assert 1 <= most <= 2
    assert {answer.status_code for answer in basic_answers} <= {401, 429}
    assert {answer.status_code for answer in grant_answers} <= {400, 429}
    assert [answer.status_code for answer in answers].count(429) > 0
    refused = next(answer for answer in answers if answer.status_code == 429)
    assert "at once" in refused.json()["errors"][0]["message"] and refused.headers["Retry-After"] == "1"
    assert health == [200] * 5


def test_remembered_passwords_expire(alice: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    remembered = credentials.VerifiedPasswords("a-server-secret-0123456789", ttl_seconds=60)
    password_hash = alice.user.password_hash
    assert password_hash is not None
    remembered.remember("alice", alice.password, password_hash)
    assert remembered.remembers("alice", alice.password, password_hash)
    now[0] += 61
    assert not remembered.remembers("alice", alice.password, password_hash)


def test_the_pool_holds_what_a_process_uses_at_once(settings: Settings) -> None:
    needed = connections_needed(settings, api=True, export_threads=3)
    sender = settings.webhook_concurrency + 1  # webhooks/sender.py, beside the export threads
    assert needed == 2 * settings.api_concurrency + 2 * 3 + 2 + sender
    assert connections_needed(settings, api=False, export_threads=2) == 6 + sender
    assert connections_needed(settings, api=True, export_threads=0) == 2 * settings.api_concurrency + 2
    engine = make_engine(settings.resolved_database_url, needed)
    try:
        pool: Any = engine.pool
        assert pool.size() == needed
        # SQLite opens more whenever needed (file handles); PostgreSQL a bounded margin (server processes).
        assert pool._max_overflow == (-1 if STACK == "embedded" else SPARE_CONNECTIONS)
    finally:
        engine.dispose()


def test_a_burst_far_over_the_admitted_requests_never_waits_on_the_pool(
        runtime: Runtime, alice: Account, export_url: str, settings: Settings) -> None:
    """64 requests at once into a process that admits 4 and whose pool holds 4 (no spare) and gives up
    after 50 ms: every request gets a connection at once, because it waits for its turn first."""
    admitted = 4
    settings_small = settings.model_copy(update={"api_concurrency": admitted})
    engine = make_engine(settings.resolved_database_url, admitted)
    pool: Any = engine.pool
    pool._max_overflow, pool._timeout = 0, 0.05  # a pool that cannot grow, and a wait fails fast
    small = Runtime(settings=settings_small, engine=engine, sessions=make_session_factory(engine),
                    storage=runtime.storage, mailer=runtime.mailer)
    app = create_app(small, ignore_dispatch)

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
            headers = alice.basic  # Basic: the first one hashes in a thread while all hold their session
            return await asyncio.gather(*(http.get(export_url, headers=headers) for _ in range(64)))

    try:
        answers = asyncio.run(burst())
    finally:
        engine.dispose()
    assert [response.status_code for response in answers] == [200] * 64, answers[0].text

"""API fixtures: the real ASGI app over the selected stack's database and storage, and the outbox mailer.

The task queue is not under test here: the app's `dispatch_export` appends to a list, so tests can see
what was dispatched. Everything else is the production code.

Passwords are hashed with cheap argon2 parameters (CHEAP_HASHER): argon2 reads the parameters from
the hash itself when verifying, so HTTP Basic and the password grant stay fast in tests.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from crowdexports import mail, storage
from crowdexports.api.app import create_app
from crowdexports.auth import accounts, credentials
from crowdexports.config import Settings
from crowdexports.exports import lifecycle
from crowdexports.models import Export, OAuthClient, Project, User, utcnow
from crowdexports.ratelimit import Limit
from crowdexports.runtime import Runtime

CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@dataclass
class Account:
    """A user and every credential they can present."""

    user: User
    password: str
    api_key: str
    access_token: str
    refresh_token: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    @property
    def apikey(self) -> dict[str, str]:
        return {"Authorization": f"APIKey {self.api_key}"}

    @property
    def basic(self) -> dict[str, str]:
        pair = base64.b64encode(f"{self.user.username}:{self.password}".encode()).decode()
        return {"Authorization": f"Basic {pair}"}


@pytest.fixture
def dispatched() -> list[int]:
    return []


def ignore_dispatch(export_id: int) -> None:
    """The doorbell of an app whose test does not look at what is dispatched."""


@pytest.fixture
def runtime(settings: Settings, engine: Engine, session_factory: sessionmaker[Session]) -> Runtime:
    return Runtime(
        settings=settings, engine=engine, sessions=session_factory,
        storage=storage.from_url(settings.resolved_storage_url, s3_endpoint_url=settings.s3_endpoint_url,
                                 s3_region=settings.s3_region),
        mailer=mail.from_url(None, settings.outbox_dir),
    )


@pytest.fixture
def client(runtime: Runtime, dispatched: list[int]) -> Iterator[TestClient]:
    with TestClient(create_app(runtime, dispatched.append)) as test_client:
        yield test_client


@pytest.fixture
def oauth_client(session: Session) -> tuple[OAuthClient, str, str]:
    return accounts.create_client(session, "test client")


def make_account(session: Session, settings: Settings, username: str, client: OAuthClient, *,
                 is_staff: bool = False, lang: str = "en") -> Account:
    user = accounts.create_user(session, username=username, email=f"{username}@example.com",
                                is_staff=is_staff, lang=lang, first_name=username.title(), last_name="Tester")
    password = f"{username}-password-{uuid.uuid4().hex[:6]}"
    user.password_hash = credentials.hash_password(password, CHEAP_HASHER)
    session.commit()
    tokens = accounts.issue_tokens(session, user, client, settings)
    return Account(user, password, accounts.create_api_key(session, user)[1], tokens["access_token"],
                   tokens["refresh_token"])


@pytest.fixture
def alice(session: Session, settings: Settings, oauth_client: tuple[OAuthClient, str, str]) -> Account:
    return make_account(session, settings, "alice", oauth_client[0])


@pytest.fixture
def bob(session: Session, settings: Settings, oauth_client: tuple[OAuthClient, str, str]) -> Account:
    return make_account(session, settings, "bob", oauth_client[0])


@pytest.fixture
def staff(session: Session, settings: Settings, oauth_client: tuple[OAuthClient, str, str]) -> Account:
    return make_account(session, settings, "staffer", oauth_client[0], is_staff=True)


@pytest.fixture
def project_a(session: Session, alice: Account) -> Project:
    return accounts.create_project(session, owner=alice.user, name="Solar Kettle")


@pytest.fixture
def project_b(session: Session, bob: Account) -> Project:
    return accounts.create_project(session, owner=bob.user, name="Wind Spoon")


def request_export(session: Session, project: Project, user: User, format_: str = "csv") -> Export:
    return lifecycle.request(session, project=project, user=user, type_="orders", format_=format_,
                             columns=None)


def succeeded_export(session: Session, runtime: Runtime, project: Project, user: User, *,
                     content: bytes = b"order.id\r\n1\r\n", file_name: str = "solar-kettle_orders.csv",
                     expires_in: timedelta = timedelta(days=7)) -> Export:
    """An export that went through the real lifecycle and storage, with `content` as its file."""
    export = request_export(session, project, user)
    claim = lifecycle.claim(session, export.id, worker="test", lease_seconds=30, max_attempts=3)
    assert claim is not None
    tmp = runtime.storage.temp_dir() / f"{uuid.uuid4().hex}.part"
    tmp.write_bytes(content)
    key = f"exports/{export.id}/1/{file_name}"
    size = runtime.storage.publish(tmp, key)
    assert lifecycle.succeed(session, claim, storage_key=key, file_name=file_name, size=size, row_count=1,
                             sha256=hashlib.sha256(content).hexdigest(), expires_at=utcnow() + expires_in)
    session.refresh(export)
    return export


def limited_client(runtime: Runtime, **limits: Limit | None | str) -> TestClient:
    """The app with these limits, its clock stopped: a test's hits all fall in one window, however long
    it runs and whenever it starts (a minute's end mid-test would otherwise reset the counts)."""
    settings = runtime.settings.model_copy(update=limits)
    settings.__dict__.pop("resolved_rate_limit_url", None)  # a cached_property: computed again from the update
    started = time.time()
    limited = dataclasses.replace(runtime, settings=settings, clock=lambda: started)
    return TestClient(create_app(limited, ignore_dispatch))

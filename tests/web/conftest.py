"""Web page fixtures: the real app (API and page) over the selected stack, a browser-like client that
keeps cookies, and owners with cheap password hashes (tests/api/conftest.py says why)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from crowdexports import mail, storage
from crowdexports.api.app import create_app
from crowdexports.auth import accounts, credentials
from crowdexports.config import Settings
from crowdexports.models import Project, User
from crowdexports.runtime import Runtime
from tests.api.conftest import CHEAP_HASHER

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


@dataclass
class Person:
    user: User
    project: Project | None


def make_person(session: Session, username: str, *, lang: str = "en", is_staff: bool = False,
                project: str | None = "Solar Kettle", timezone: str = "Europe/Paris") -> Person:
    user = accounts.create_user(session, username=username, email=f"{username}@example.com", lang=lang,
                                is_staff=is_staff, first_name=username.title(), last_name="Tester")
    user.password_hash = credentials.hash_password(PASSWORD, CHEAP_HASHER)
    session.commit()
    made = accounts.create_project(session, owner=user, name=project, timezone=timezone) if project else None
    return Person(user, made)


def csrf_of(page: Response) -> str:
    found = CSRF.search(page.text)
    assert found, page.text[:500]
    return found.group(1)


def project_of(person: Person) -> Project:
    """The project made with `person` (make_person's owners have one)."""
    assert person.project is not None
    return person.project


def ask_csv(client: TestClient, project: Project, **fields: Any) -> Response:
    """The project page's export form sent as a csv of the order ids, with `fields` added or replaced."""
    token = csrf_of(client.get(f"/web/projects/{project.id}"))
    return client.post(f"/web/projects/{project.id}/exports", data={"csrf": token, "format": "csv",
                                                                     "column": ["order.id"], **fields},
                       follow_redirects=False)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Response:
    form = client.get("/web/signin")
    return client.post("/web/signin", data={"csrf": csrf_of(form), "username": username, "password": password,
                                            "next": "/web/projects"}, follow_redirects=False)


@pytest.fixture
def runtime(settings: Settings, engine: Engine, session_factory: sessionmaker[Session]) -> Runtime:
    return Runtime(settings=settings, engine=engine, sessions=session_factory,
                   storage=storage.from_url(settings.resolved_storage_url, s3_endpoint_url=settings.s3_endpoint_url,
                                            s3_region=settings.s3_region),
                   mailer=mail.from_url(None, settings.outbox_dir))


@pytest.fixture
def dispatched() -> list[int]:
    return []


@pytest.fixture
def client(runtime: Runtime, dispatched: list[int]) -> Iterator[TestClient]:
    with TestClient(create_app(runtime, dispatched.append)) as test_client:
        yield test_client


@pytest.fixture
def olga(session: Session) -> Person:
    return make_person(session, "olga")


@pytest.fixture
def boris(session: Session) -> Person:
    return make_person(session, "boris", project="Wind Spoon")


@pytest.fixture
def signed_in(client: TestClient, olga: Person) -> TestClient:
    assert sign_in(client, "olga").status_code == 303
    return client

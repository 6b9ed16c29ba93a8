"""Retention on both backends: an expired export's file is deleted, its `url` stays null, its link 404s."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from crowdexports import mail
from crowdexports.api.app import create_app
from crowdexports.auth import accounts, signing
from crowdexports.config import Settings
from crowdexports.exports.retention import purge_expired
from crowdexports.models import Export, ExportEvent, Project, utcnow
from crowdexports.runtime import Runtime
from crowdexports.storage.base import Storage
from crowdexports.storage.local import LocalStorage
from crowdexports.worker.queue import make_huey
from crowdexports.worker.tasks import bind_tasks, sweep_once
from tests.api.conftest import Account, ignore_dispatch, make_account, succeeded_export
from tests.servers.s3 import FaultProxy, moto_server, s3_storage

CONTENT = b"order.id\r\n1\r\n"


@pytest.fixture
def proxy() -> Iterator[FaultProxy]:
    with FaultProxy(moto_server().endpoint_url) as fault_proxy:
        yield fault_proxy


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.slow)])  # s3: a moto server
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return LocalStorage(tmp_path / "files")
    proxy: FaultProxy = request.getfixturevalue("proxy")
    return s3_storage(request.node.nodeid, tmp_path / "tmp", endpoint_url=proxy.url, max_attempts=2,
                      read_timeout=1.0)


@pytest.fixture
def runtime(settings: Settings, engine: Engine, session_factory: sessionmaker[Session], storage: Storage) -> Runtime:
    return Runtime(settings=settings, engine=engine, sessions=session_factory, storage=storage,
                   mailer=mail.from_url(None, settings.outbox_dir))


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime, ignore_dispatch), follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def alice(session: Session, settings: Settings) -> Account:
    return make_account(session, settings, "alice", accounts.create_client(session, "tests")[0])


@pytest.fixture
def project(session: Session, alice: Account) -> Project:
    return accounts.create_project(session, owner=alice.user, name="Solar Kettle")


def exports(session: Session, runtime: Runtime, project: Project, alice: Account) -> tuple[Export, Export]:
    """One export whose file expired a second ago, one with a week to go."""
    expired = succeeded_export(session, runtime, project, alice.user, content=CONTENT,
                               expires_in=timedelta(seconds=-1))
    fresh = succeeded_export(session, runtime, project, alice.user, content=CONTENT)
    return expired, fresh


def test_expired_files_are_deleted_and_their_links_die(client: TestClient, session: Session, runtime: Runtime,
                                                       project: Project, alice: Account,
                                                       settings: Settings) -> None:
    expired, fresh = exports(session, runtime, project, alice)
    expired_key, fresh_key = expired.storage_key or "", fresh.storage_key or ""
    fresh_url = client.get(f"/v1/exports/{fresh.id}", headers=alice.bearer).json()["url"]

    assert purge_expired(runtime, utcnow()) == 1

    assert not runtime.storage.exists(expired_key)
    session.refresh(expired)
    assert expired.status == "succeeded" and expired.storage_key is None
    events = session.scalars(select(ExportEvent.kind).where(ExportEvent.export_id == expired.id)).all()
    assert events[-1] == "file_expired"
    assert client.get(f"/v1/exports/{expired.id}", headers=alice.bearer).json()["url"] is None
    # Even a genuine signature that has not run out finds no file any more.
    later = signing.download_path(settings.resolved_secret_key, expired.id, utcnow() + timedelta(days=1))
    response = client.get(later)
    assert response.status_code == 404 and "location" not in response.headers
    assert response.json()["errors"][0]["classification"] == "NotFoundError"

    assert runtime.storage.exists(fresh_key)  # the unexpired one is untouched
    session.refresh(fresh)
    assert fresh.storage_key == fresh_key
    assert client.get(fresh_url).status_code in (200, 302)  # streamed locally, redirected on S3

    assert purge_expired(runtime, utcnow()) == 0  # nothing left to do


def test_retention_follows_the_clock_it_is_given(session: Session, runtime: Runtime, project: Project,
                                                 alice: Account) -> None:
    _, fresh = exports(session, runtime, project, alice)
    assert purge_expired(runtime, utcnow() + timedelta(days=8)) == 2
    assert not runtime.storage.exists(fresh.storage_key or "")


def test_the_sweep_purges_and_counts(settings: Settings, session: Session, runtime: Runtime, project: Project,
                                     alice: Account) -> None:
    expired, _ = exports(session, runtime, project, alice)
    tasks = bind_tasks(make_huey(settings.resolved_broker_url, name=settings.queue_name), runtime)

    assert sweep_once(runtime, tasks)["expired"] == 1

    assert not runtime.storage.exists(expired.storage_key or "")


@pytest.mark.parametrize("storage", ["s3"], indirect=True)
def test_a_storage_outage_keeps_the_key_for_the_next_sweep(session: Session, runtime: Runtime, project: Project,
                                                           alice: Account, proxy: FaultProxy) -> None:
    expired, fresh = exports(session, runtime, project, alice)
    also_expired, also_fresh = exports(session, runtime, project, alice)
    proxy.fail(503, times=None, when=lambda seen: seen.method == "DELETE")

    assert purge_expired(runtime, utcnow()) == 0

    assert proxy.count(lambda seen: seen.method == "DELETE") == 2  # one file's retries, then it stops
    for export in (expired, also_expired):
        session.refresh(export)
        assert export.storage_key  # not forgotten: the file is still there to delete
    proxy.clear()
    assert purge_expired(runtime, utcnow()) == 2
    assert runtime.storage.keys("exports/") == sorted([fresh.storage_key or "", also_fresh.storage_key or ""])

"""S3Storage against a real S3-compatible HTTP server (moto's), with faults injected by a proxy in front of it."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from crowdexports import mail
from crowdexports.api.app import create_app
from crowdexports.auth import accounts, signing
from crowdexports.config import Settings
from crowdexports.errors import NotFound, Unavailable
from crowdexports.exports import failures, lifecycle
from crowdexports.exports.runner import Outcome, RunningExports, run_export
from crowdexports.models import Export, Project, utcnow
from crowdexports.runtime import Runtime
from crowdexports.storage import from_url
from crowdexports.storage.base import content_disposition
from crowdexports.storage.s3 import MAX_PRESIGN_SECONDS, S3Storage
from tests.api.conftest import Account, ignore_dispatch, make_account, succeeded_export
from tests.factories import make_order, make_reward
from tests.servers import free_port
from tests.servers.s3 import (
    FaultProxy,
    Match,
    S3Server,
    complete_upload,
    moto_server,
    put_object,
    s3_storage,
    upload_part,
)

pytestmark = pytest.mark.slow  # a moto server in a subprocess

MIB = 1024 * 1024
CSV = "text/csv; charset=utf-8"
STORE_FAILED = "Could not store the file: the storage service answered 500 InternalError after 3 attempt(s)."
FAST = {"max_attempts": 3, "connect_timeout": 1.0, "read_timeout": 1.0}  # fault tests end in seconds


@pytest.fixture
def server() -> S3Server:
    return moto_server()


@pytest.fixture
def s3(request: pytest.FixtureRequest, server: S3Server, tmp_path: Path) -> S3Storage:
    return s3_storage(request.node.nodeid, tmp_path / "tmp")


@pytest.fixture
def proxy(server: S3Server) -> Iterator[FaultProxy]:
    with FaultProxy(server.endpoint_url) as fault_proxy:
        yield fault_proxy


@pytest.fixture
def faulty(request: pytest.FixtureRequest, proxy: FaultProxy, tmp_path: Path) -> S3Storage:
    """Storage through the fault proxy, with short timeouts and 3 attempts per call."""
    return s3_storage(request.node.nodeid, tmp_path / "tmp", endpoint_url=proxy.url, **FAST)


def temp_file(storage: S3Storage, data: bytes, name: str = "export-1-x.csv.part") -> Path:
    path = storage.temp_dir() / name
    path.write_bytes(data)
    return path


def read(storage: S3Storage, key: str) -> bytes:
    with storage.open(key) as stream:
        return stream.read()


def uploads_left(server: S3Server, storage: S3Storage) -> list[str]:
    listing = server.client.list_multipart_uploads(Bucket=storage.bucket, Prefix=storage.prefix)
    return [upload["Key"] for upload in listing.get("Uploads", [])]


def test_from_url_builds_s3_storage(server: S3Server) -> None:
    storage = from_url("s3://my-bucket/exports/prod/", s3_endpoint_url=server.endpoint_url, s3_region="eu-west-3")
    assert isinstance(storage, S3Storage)
    assert (storage.bucket, storage.prefix) == ("my-bucket", "exports/prod/")
    assert storage.client.meta.region_name == "eu-west-3"
    assert storage.client.meta.endpoint_url == server.endpoint_url
    assert isinstance(from_url("s3://my-bucket"), S3Storage)
    for url in ("s3:///prefix", "s3://My_Bucket/x", "s3://ab/x"):
        with pytest.raises(ValueError, match="bucket"):
            from_url(url)


def test_publish_open_exists_keys_delete(s3: S3Storage, server: S3Server) -> None:
    data = "order.id,user.username\r\n1,élodie\r\n".encode()
    tmp = temp_file(s3, data)
    key = "exports/7/1-ab/Solar Kettle_orders.csv"

    assert s3.publish(tmp, key) == len(data)

    assert not tmp.exists()
    assert read(s3, key) == data
    assert s3.exists(key)
    server.client.head_object(Bucket=s3.bucket, Key=s3.prefix + key)  # really under the prefix
    s3.publish(temp_file(s3, b"other"), "exports/71/1-cd/x.csv")
    assert s3.keys("exports/7/") == [key]
    assert s3.keys("exports/7") == [key, "exports/71/1-cd/x.csv"]

    s3.delete(key)
    s3.delete(key)  # already gone: no error
    assert not s3.exists(key)
    assert s3.keys("exports/7/") == []


def test_a_missing_file_is_not_found(s3: S3Storage) -> None:
    with pytest.raises(NotFound):
        s3.open("exports/1/nothing.csv")
    assert not s3.exists("exports/1/nothing.csv")


@pytest.mark.parametrize("key", ["../x", "/etc/passwd", "a/../b", "a\x00b", ""])
def test_unsafe_keys_are_refused_and_the_temp_file_is_consumed(s3: S3Storage, key: str) -> None:
    tmp = temp_file(s3, b"data")
    with pytest.raises(ValueError):
        s3.publish(tmp, key)
    assert not tmp.exists()
    with pytest.raises(ValueError):
        s3.open(key)


def test_a_big_file_goes_up_in_parts_and_reads_back_byte_equal(request: pytest.FixtureRequest, proxy: FaultProxy,
                                                               server: S3Server, tmp_path: Path) -> None:
    storage = s3_storage(request.node.nodeid, tmp_path, endpoint_url=proxy.url, multipart_threshold=5 * MIB)
    data = os.urandom(12 * MIB + 123)

    assert storage.publish(temp_file(storage, data), "exports/1/1-a/big.xlsx") == len(data)

    assert proxy.count(upload_part) == 3 and proxy.count(complete_upload) == 1
    assert read(storage, "exports/1/1-a/big.xlsx") == data
    assert uploads_left(server, storage) == []


def test_nothing_is_visible_until_the_multipart_upload_completes(request: pytest.FixtureRequest,
                                                                 proxy: FaultProxy, server: S3Server,
                                                                 tmp_path: Path) -> None:
    storage = s3_storage(request.node.nodeid, tmp_path, endpoint_url=proxy.url, multipart_threshold=5 * MIB)
    key = "exports/1/1-a/big.csv"
    data = os.urandom(11 * MIB)
    proxy.delay(60, when=complete_upload)  # hold the completion while we look, until released
    publisher = threading.Thread(target=storage.publish, args=(temp_file(storage, data), key))
    publisher.start()
    deadline = time.monotonic() + 10
    while not proxy.count(complete_upload) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proxy.count(upload_part) == 3  # every part is up...

    direct = S3Storage(storage.bucket, storage.prefix, endpoint_url=server.endpoint_url, temp_root=tmp_path)
    assert not direct.exists(key)  # ...and still nothing under the key
    assert direct.keys("") == []
    assert uploads_left(server, storage) == [storage.prefix + key]

    proxy.release()
    publisher.join()
    assert read(direct, key) == data
    assert uploads_left(server, storage) == []


@pytest.mark.parametrize("step", [upload_part, complete_upload], ids=["part", "complete"])
def test_a_failed_multipart_upload_leaves_no_parts_and_no_object(request: pytest.FixtureRequest,
                                                                 proxy: FaultProxy, server: S3Server,
                                                                 tmp_path: Path, step: Match) -> None:
    storage = s3_storage(request.node.nodeid, tmp_path, endpoint_url=proxy.url, multipart_threshold=5 * MIB,
                         **FAST)
    proxy.fail(500, times=None, when=step)
    tmp = temp_file(storage, os.urandom(11 * MIB))

    with pytest.raises(Unavailable, match="answered 500 InternalError after 3 attempt"):
        storage.publish(tmp, "exports/1/1-a/big.csv")

    assert not tmp.exists()
    assert not storage.exists("exports/1/1-a/big.csv")
    assert uploads_left(server, storage) == []


@pytest.mark.parametrize("status", [500, 503])
def test_transient_errors_are_retried_and_the_call_succeeds(faulty: S3Storage, proxy: FaultProxy,
                                                            status: int) -> None:
    proxy.fail(status, times=2, when=put_object)
    assert faulty.publish(temp_file(faulty, b"payload"), "exports/1/f.csv") == 7
    assert proxy.count(put_object) == 3

    proxy.fail(status, times=2, when=lambda seen: seen.method == "GET")
    assert read(faulty, "exports/1/f.csv") == b"payload"


def test_an_error_that_lasts_fails_quickly_with_a_reason(faulty: S3Storage, proxy: FaultProxy) -> None:
    proxy.fail(500, times=None)
    tmp = temp_file(faulty, b"payload")
    with pytest.raises(Unavailable) as raised:
        faulty.publish(tmp, "exports/1/f.csv")
    assert str(raised.value) == STORE_FAILED
    assert proxy.count() == proxy.count(put_object) == 3  # quickly: its 3 attempts and nothing more
    assert not tmp.exists()
    for call in (faulty.open, faulty.delete, faulty.keys):
        with pytest.raises(Unavailable, match="answered 500 InternalError"):
            call("exports/1/f.csv")
    with pytest.raises(Unavailable, match="^Could not check the file: the storage service answered 500 Internal "
                                          "Server Error after 3 attempt"):  # HEAD: no error body, no code
        faulty.exists("exports/1/f.csv")


def test_a_stalled_server_times_out_within_seconds(request: pytest.FixtureRequest, proxy: FaultProxy,
                                                   tmp_path: Path) -> None:
    """Each attempt gives up after the configured 0.5 s, long before the stalled answer would come: had
    it waited for the answer (botocore's 60 s default, or READ_TIMEOUT's 20 s), the upload would succeed."""
    storage = s3_storage(request.node.nodeid, tmp_path, endpoint_url=proxy.url, **{**FAST, "read_timeout": 0.5})
    proxy.delay(10, times=None)
    with pytest.raises(Unavailable, match="did not answer in time \\(3 attempts\\)"):
        storage.publish(temp_file(storage, b"payload"), "exports/1/f.csv")
    assert proxy.count(put_object) == 3


def test_an_unreachable_server_is_a_clear_error(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    storage = s3_storage(request.node.nodeid, tmp_path, endpoint_url=f"http://127.0.0.1:{free_port()}", **FAST)
    with pytest.raises(Unavailable, match="could not be reached"):
        storage.exists("exports/1/f.csv")


def test_a_presigned_url_serves_the_file_with_its_name_and_type(s3: S3Storage) -> None:
    s3.publish(temp_file(s3, b"a,b\r\n1,2\r\n"), "exports/1/1-a/f.csv")
    name = "Été – 東京 \"x\"; ../etc.csv"

    url = s3.presigned_url("exports/1/1-a/f.csv", expires_in=60, file_name=name, mime_type=CSV)

    assert url is not None
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["60"]
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.content == b"a,b\r\n1,2\r\n"
    assert response.headers["content-disposition"] == content_disposition(name)
    assert response.headers["content-type"] == CSV
    assert response.headers["cache-control"] == "private, no-store"
    month = s3.presigned_url("exports/1/1-a/f.csv", expires_in=30 * 86400, file_name=name, mime_type=CSV)
    assert month is not None
    assert parse_qs(urlsplit(month).query)["X-Amz-Expires"] == [str(MAX_PRESIGN_SECONDS)]  # SigV4's 7 days


# --- the download route and the worker on S3 -------------------------------------------------------------

def s3_runtime(settings: Settings, engine: Engine, sessions: sessionmaker[Session], storage: S3Storage) -> Runtime:
    return Runtime(settings=settings, engine=engine, sessions=sessions, storage=storage,
                   mailer=mail.from_url(None, settings.outbox_dir))


@pytest.fixture
def runtime(settings: Settings, engine: Engine, session_factory: sessionmaker[Session],
            faulty: S3Storage) -> Runtime:
    month = settings.model_copy(update={"file_ttl_days": 30})  # longer than SigV4 allows: the link must be ours
    return s3_runtime(month, engine, session_factory, faulty)  # (RELIABILITY item 42)


@pytest.fixture
def alice(session: Session, settings: Settings) -> Account:
    return make_account(session, settings, "alice", accounts.create_client(session, "tests")[0])


@pytest.fixture
def project(session: Session, alice: Account) -> Project:
    return accounts.create_project(session, owner=alice.user, name="Solar Kettle")


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime, ignore_dispatch), follow_redirects=False) as test_client:
        yield test_client


def test_the_link_redirects_to_a_short_lived_presigned_url(client: TestClient, session: Session,
                                                           runtime: Runtime, project: Project, alice: Account,
                                                           settings: Settings) -> None:
    export = succeeded_export(session, runtime, project, alice.user, content=b"order.id\r\n1\r\n",
                              expires_in=timedelta(days=30))
    url = client.get(f"/v1/exports/{export.id}", headers=alice.bearer).json()["url"]
    assert url.startswith(f"{settings.public_url}/v1/exports/{export.id}/download?")  # ours, not S3's

    response = client.get(url)

    assert response.status_code == 302
    assert response.headers["cache-control"] == "private, no-store"
    location = response.headers["location"]
    assert parse_qs(urlsplit(location).query)["X-Amz-Expires"] == ["300"]
    served = httpx.get(location)
    assert served.status_code == 200 and served.content == b"order.id\r\n1\r\n"
    assert served.headers["content-disposition"] == content_disposition("solar-kettle_orders.csv")


def test_bad_links_are_404_and_never_a_redirect(client: TestClient, session: Session, runtime: Runtime,
                                                project: Project, alice: Account, settings: Settings) -> None:
    export = succeeded_export(session, runtime, project, alice.user)
    url = client.get(f"/v1/exports/{export.id}", headers=alice.bearer).json()["url"]
    secret = settings.resolved_secret_key
    for bad in (url[:-1] + ("0" if url[-1] != "0" else "1"),
                signing.download_path(secret, export.id, utcnow() - timedelta(seconds=1)),
                signing.download_path("another-secret-0123456789", export.id, utcnow() + timedelta(hours=1))):
        response = client.get(bad)
        assert response.status_code == 404 and "location" not in response.headers
        assert response.json()["errors"][0]["classification"] == "NotFoundError"

    runtime.storage.delete(export.storage_key or "")  # RELIABILITY item 32: our 404, not S3's XML
    response = client.get(url)
    assert response.status_code == 404 and "location" not in response.headers


def test_storage_down_at_click_time_is_a_503_envelope(client: TestClient, session: Session, runtime: Runtime,
                                                      project: Project, alice: Account, proxy: FaultProxy) -> None:
    export = succeeded_export(session, runtime, project, alice.user)
    url = client.get(f"/v1/exports/{export.id}", headers=alice.bearer).json()["url"]
    proxy.fail(503, times=None)
    response = client.get(url)
    assert response.status_code == 503
    assert response.json()["errors"][0]["classification"] == "ServiceUnavailableError"


def request_export_with_orders(session: Session, project: Project, alice: Account) -> Export:
    reward = make_reward(session, project)
    for _ in range(3):
        make_order(session, project, alice.user, [(reward, 1)])
    return lifecycle.request(session, project=project, user=alice.user, type_="orders", format_="csv", columns=None)


def test_an_export_survives_a_few_503s(runtime: Runtime, session: Session, project: Project, alice: Account,
                                       proxy: FaultProxy) -> None:
    export = request_export_with_orders(session, project, alice)
    proxy.fail(503, times=2, when=put_object)

    assert run_export(runtime, RunningExports(), export.id) is Outcome.SUCCEEDED

    session.refresh(export)
    assert export.status == "succeeded" and export.row_count == 3
    assert runtime.storage.keys(f"exports/{export.id}/") == [export.storage_key]
    assert list(runtime.storage.temp_dir().iterdir()) == []


def test_an_export_fails_with_a_reason_when_storage_stays_down(runtime: Runtime, session: Session,
                                                               project: Project, alice: Account,
                                                               proxy: FaultProxy) -> None:
    export = request_export_with_orders(session, project, alice)
    proxy.fail(500, times=None, when=put_object)

    assert run_export(runtime, RunningExports(), export.id) is Outcome.FAILED

    assert proxy.count(put_object) == 3  # one upload's attempts, then the export gives up
    session.refresh(export)
    assert export.status == "failed" and export.storage_key is None
    assert export.error == f"{failures.STORAGE} {STORE_FAILED}"
    proxy.clear()
    assert runtime.storage.keys(f"exports/{export.id}/") == []
    assert list(runtime.storage.temp_dir().iterdir()) == []

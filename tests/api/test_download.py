"""The signed download link: the right bytes and headers, and never the file for a bad link."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crowdexports.api.ranges import ByteRange, requested_range
from crowdexports.auth import signing
from crowdexports.config import Settings
from crowdexports.errors import RangeNotSatisfiable
from crowdexports.models import Export, Project, utcnow
from crowdexports.runtime import Runtime
from crowdexports.storage.base import content_disposition
from tests.api.conftest import Account, request_export, succeeded_export
from tests.servers.s3 import fetch

CONTENT = "order.id,user.username\r\n1,élodie\r\n".encode()


@pytest.fixture
def export(session: Session, runtime: Runtime, project_a: Project, alice: Account) -> Export:
    return succeeded_export(session, runtime, project_a, alice.user, content=CONTENT)


def link(client: TestClient, export: Export, account: Account) -> str:
    url: str = client.get(f"/v1/exports/{export.id}", headers=account.bearer).json()["url"]
    return url


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 404, response.text
    assert response.json()["errors"][0]["classification"] == "NotFoundError"
    assert CONTENT not in response.content


def test_a_valid_link_downloads_the_file(client: TestClient, export: Export, alice: Account,
                                         settings: Settings) -> None:
    url = link(client, export, alice)
    assert url.startswith(f"{settings.public_url}/v1/exports/{export.id}/download?expires=")
    assert client.get(url, follow_redirects=False).headers["x-content-type-options"] == "nosniff"
    response = fetch(client, url)  # on S3, via a presigned URL of the store
    assert response.status_code == 200
    assert response.content == CONTENT
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"solar-kettle_orders.csv\"; filename*=UTF-8''solar-kettle_orders.csv")


def test_head_answers_the_files_headers_with_its_digest_and_no_body(client: TestClient, export: Export,
                                                                    alice: Account) -> None:
    """On both stores HEAD is answered by the API (a presigned URL is signed for GET only)."""
    response = client.head(link(client, export, alice), follow_redirects=False)
    assert response.status_code == 200 and response.content == b""
    digest = base64.b64encode(hashlib.sha256(CONTENT).digest()).decode()
    assert response.headers["repr-digest"] == f"sha-256=:{digest}:"
    assert response.headers["content-length"] == str(len(CONTENT))
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-disposition"].startswith('attachment; filename="solar-kettle_orders.csv"')


def test_a_resumed_download_reassembles_the_same_bytes_and_hash(client: TestClient, export: Export,
                                                                alice: Account) -> None:
    """Two ranges, as a download manager resuming after 10 bytes; on S3 the store answers them itself."""
    url = link(client, export, alice)
    first = fetch(client, url, headers={"Range": "bytes=0-9"})
    rest = fetch(client, url, headers={"Range": "bytes=10-"})
    assert (first.status_code, rest.status_code) == (206, 206)
    assert first.headers["content-range"] == f"bytes 0-9/{len(CONTENT)}"
    assert rest.headers["content-range"] == f"bytes 10-{len(CONTENT) - 1}/{len(CONTENT)}"
    whole = first.content + rest.content
    assert whole == CONTENT
    expected = client.get(f"/v1/exports/{export.id}", headers=alice.bearer).json()["sha256"]
    assert hashlib.sha256(whole).hexdigest() == expected


def test_a_range_past_the_end_is_416(client: TestClient, export: Export, alice: Account) -> None:
    response = fetch(client, link(client, export, alice), headers={"Range": f"bytes={len(CONTENT)}-"})
    assert response.status_code == 416 and CONTENT not in response.content
    if response.headers.get("content-type") == "application/json":  # ours (local); S3 answers its own XML
        assert response.headers["content-range"] == f"bytes */{len(CONTENT)}"
        assert response.json()["errors"][0]["classification"] == "RangeNotSatisfiableError"


def test_a_local_download_answers_its_digest_and_length(client: TestClient, export: Export, alice: Account) -> None:
    response = client.get(link(client, export, alice), follow_redirects=False)
    if response.status_code == 302:
        pytest.skip("S3: the store serves the bytes; HEAD on our link gives the digest")
    digest = base64.b64encode(hashlib.sha256(response.content).digest()).decode()
    assert response.headers["repr-digest"] == f"sha-256=:{digest}:"
    assert response.headers["content-length"] == str(len(CONTENT))


@pytest.mark.parametrize(("header", "expected"), [
    ("bytes=0-9", ByteRange(0, 9)), ("bytes=5-", ByteRange(5, 99)), ("bytes=-10", ByteRange(90, 99)),
    ("bytes=90-500", ByteRange(90, 99)), ("bytes=-500", ByteRange(0, 99)), ("bytes=99-99", ByteRange(99, 99)),
    (None, None), ("bytes=0-1,5-9", None), ("items=0-9", None), ("bytes=9-2", None), ("bytes=-", None),
    ("bytes=a-b", None),
])
def test_one_byte_range_is_served_others_mean_the_whole_file(header: str | None, expected: ByteRange | None) -> None:
    assert requested_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=100-200", "bytes=-0"])
def test_a_range_outside_the_file_is_not_satisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        requested_range(header, 100)


def tampered(url: str, how: str, other: Export | None = None) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    signature, expires, path = query["signature"], query["expires"], parts.path
    if how == "flipped":
        signature = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    elif how == "truncated":
        signature = signature[:-2]
    elif how == "later":
        expires = str(int(expires) + 1)
    elif how == "other export":
        assert other is not None
        path = f"/v1/exports/{other.id}/download"
    elif how == "no signature":
        return f"{path}?expires={expires}"
    elif how == "non-ascii":
        signature = "é" * len(signature)
    return f"{path}?expires={expires}&signature={signature}"


@pytest.mark.parametrize("how", ["flipped", "truncated", "later", "other export", "no signature",
                                 "non-ascii"])
def test_a_tampered_link_never_gives_the_file(client: TestClient, session: Session, runtime: Runtime,
                                              project_a: Project, alice: Account, export: Export,
                                              how: str) -> None:
    other = succeeded_export(session, runtime, project_a, alice.user, content=b"other")
    response = client.get(tampered(link(client, export, alice), how, other))
    assert_refused(response)
    assert b"other" not in response.content


def test_an_expired_signature_is_refused(client: TestClient, export: Export, settings: Settings) -> None:
    path = signing.download_path(settings.resolved_secret_key, export.id, utcnow() - timedelta(seconds=1))
    assert_refused(client.get(path))


def test_a_signature_made_with_another_secret_is_refused(client: TestClient, export: Export) -> None:
    assert_refused(client.get(signing.download_path("another-secret-0123456789", export.id,
                                                    utcnow() + timedelta(hours=1))))


def test_an_expired_file_has_no_url_and_no_download(client: TestClient, session: Session, runtime: Runtime,
                                                    project_a: Project, alice: Account,
                                                    settings: Settings) -> None:
    expired = succeeded_export(session, runtime, project_a, alice.user, content=CONTENT,
                               expires_in=timedelta(seconds=-1))
    assert client.get(f"/v1/exports/{expired.id}", headers=alice.bearer).json()["url"] is None
    later = utcnow() + timedelta(days=1)
    assert_refused(client.get(signing.download_path(settings.resolved_secret_key, expired.id, later)))


def test_an_export_without_a_file_is_refused_even_when_signed(client: TestClient, session: Session,
                                                              project_a: Project, alice: Account,
                                                              settings: Settings) -> None:
    waiting = request_export(session, project_a, alice.user)
    signed = signing.download_path(settings.resolved_secret_key, waiting.id, utcnow() + timedelta(hours=1))
    assert_refused(client.get(signed))


def test_a_file_gone_from_storage_is_404_not_500(client: TestClient, runtime: Runtime, export: Export,
                                                 alice: Account) -> None:
    """The local file deleted, or the S3 object: the answer says the file is gone, never where it was."""
    url = link(client, export, alice)
    key = export.storage_key or ""
    runtime.storage.delete(key)
    response = client.get(url)
    assert_refused(response)
    assert response.json()["errors"][0]["message"] == "The file of this export is no longer available."
    assert key not in response.text and "exports/" not in response.text


@pytest.mark.parametrize("path", [
    "/v1/exports/..%2F..%2Fetc%2Fpasswd/download", "/v1/exports/%2e%2e/download", "/v1/exports/1%00/download",
    "/v1/exports/%2Fetc%2Fpasswd/download", "/v1/exports/-1/download",
    "/v1/exports/99999999999999999999/download",
    "/v1/exports/{id}/download/../../../etc/passwd", "/v1/exports/{id}%00/download",
])
def test_path_tricks_never_read_a_file(client: TestClient, export: Export, alice: Account, path: str) -> None:
    query = urlsplit(link(client, export, alice)).query
    response = client.get(f"{path.format(id=export.id)}?{query}")
    assert response.status_code == 404
    assert CONTENT not in response.content and b"root:" not in response.content
    assert response.json()["errors"][0]["classification"] == "NotFoundError"


def test_file_names_are_sanitised_in_content_disposition() -> None:
    header = content_disposition('Été – 東京 "x"; ../../etc\r\nSet-Cookie: a\u202e.csv')
    fallback = header.split('filename="')[1].split('"')[0]
    assert fallback.isascii() and not set(fallback) & set('/\\";\r\n%')
    assert fallback.endswith(".csv")
    encoded = header.split("filename*=UTF-8''")[1]
    assert unquote(encoded) == 'Été – 東京 "x"; ....etcSet-Cookie: a.csv'
    assert "\r" not in header and "\n" not in header
    assert content_disposition("東京.xlsx").startswith('attachment; filename="export.xlsx"')

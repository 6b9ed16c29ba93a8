"""Export files in an S3-compatible bucket (`s3://bucket/prefix` STORAGE_URL): the scale-out backend.

The file is built on local disk, then uploaded. S3 never shows a partial object: a PutObject appears
whole, and a multipart upload (files above MULTIPART_THRESHOLD) only on CompleteMultipartUpload. A
failed multipart upload is aborted, so no invisible-but-billed parts stay behind. (A worker killed
mid-upload cannot abort: give the bucket a lifecycle rule `AbortIncompleteMultipartUpload`.)

Every call goes through botocore's "standard" retry mode: 500, 502, 503, 504, throttling, dropped
connections and timeouts are retried with exponential backoff and jitter, up to MAX_ATTEMPTS calls,
each bounded by CONNECT_TIMEOUT and READ_TIMEOUT. The worst case (READ_TIMEOUT every time) is about
MAX_ATTEMPTS × READ_TIMEOUT ≈ 100 s; then `Unavailable` is raised with a sentence the export's
`error` can show. Credentials come from the standard AWS chain (AWS_* variables, profile, role).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import tempfile
import threading
from http import HTTPStatus
from pathlib import Path
from typing import Any, BinaryIO, cast

from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from boto3.session import Session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, HTTPClientError, ReadTimeoutError
from botocore.exceptions import ConnectionError as BotoConnectionError

from crowdexports.errors import NotFound, Unavailable
from crowdexports.filemodes import private_dir
from crowdexports.storage.base import content_disposition
from crowdexports.storage.local import check_key

logger = logging.getLogger(__name__)

MIB = 1024 * 1024
MULTIPART_THRESHOLD = 8 * MIB  # also the part size; S3 wants parts of at least 5 MiB
MAX_ATTEMPTS = 5  # calls per request, the first included
CONNECT_TIMEOUT = 5.0  # seconds; a connect on a healthy network takes milliseconds
READ_TIMEOUT = 20.0  # seconds without a byte from the server before the call is retried
MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # SigV4's hard limit (X-Amz-Expires ≤ 604800)
NOT_FOUND_CODES = {"404", "NoSuchKey", "NotFound"}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _reason(exc: BaseException, attempts: int) -> str:
    """Why a call failed, in words; boto3's upload wraps botocore's error, so look down the chain."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ClientError):
            error, meta = cause.response.get("Error", {}), cause.response.get("ResponseMetadata", {})
            status = int(meta.get("HTTPStatusCode") or 0)
            code = str(error.get("Code") or "")
            if not code or code == str(status):  # HEAD answers carry no error body
                code = _phrase(status)
            return (f"the storage service answered {status} {code}".rstrip()
                    + f" after {meta.get('RetryAttempts', 0) + 1} attempt(s)")
        if isinstance(cause, (ConnectTimeoutError, ReadTimeoutError)):
            return f"the storage service did not answer in time ({attempts} attempts)"
        if isinstance(cause, (BotoConnectionError, HTTPClientError)):
            return f"the storage service could not be reached ({attempts} attempts)"
        if isinstance(cause, BotoCoreError):
            return f"storage error: {cause}"
        cause = cause.__cause__ or cause.__context__
    return f"{type(exc).__name__}: {exc}"


@functools.cache
def _session() -> Session:
    """One boto3 session per process: it caches the service model that every new client would re-read."""
    return Session()


_session_lock = threading.Lock()  # a boto3 session is not thread-safe; its clients are


def _is_not_found(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in NOT_FOUND_CODES


class S3Storage:
    """Storage under `prefix` in one bucket; safe for any number of processes on any number of machines."""

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None,
                 region: str = "us-east-1", temp_root: Path | None = None,
                 multipart_threshold: int = MULTIPART_THRESHOLD, max_attempts: int = MAX_ATTEMPTS,
                 connect_timeout: float = CONNECT_TIMEOUT, read_timeout: float = READ_TIMEOUT) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.max_attempts = max_attempts
        config = Config(
            region_name=region, signature_version="s3v4",
            retries={"total_max_attempts": max_attempts, "mode": "standard"},
            connect_timeout=connect_timeout, read_timeout=read_timeout,
            # S3-compatible servers (MinIO, Ceph RGW, moto) are addressed by path, not by a bucket host name.
            s3={"addressing_style": "path" if endpoint_url else "auto"},
        )
        with _session_lock:
            self.client: Any = _session().client("s3", endpoint_url=endpoint_url, config=config)
        self.transfer = TransferConfig(multipart_threshold=multipart_threshold, multipart_chunksize=multipart_threshold,
                                       max_concurrency=4)
        # One temp dir per bucket and prefix: the pipeline clears leftovers by export id, and export ids
        # are only unique within one deployment (one database, one bucket and prefix).
        store_id = hashlib.sha256(f"{bucket}/{self.prefix}".encode()).hexdigest()[:16]
        self._temp_dir = (temp_root or Path(tempfile.gettempdir()) / "crowdexports-s3") / store_id

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _unavailable(self, action: str, exc: BaseException) -> Unavailable:
        logger.warning("S3 %s failed (bucket %s): %r", action, self.bucket, exc)
        return Unavailable(f"Could not {action}: {_reason(exc, self.max_attempts)}.")

    def temp_dir(self) -> Path:
        return private_dir(self._temp_dir)

    def publish(self, tmp_path: Path, key: str) -> int:
        """Upload `tmp_path` to `key` (multipart when big), then remove it; raise Unavailable on failure."""
        try:
            full_key, size = self._key(key), tmp_path.stat().st_size
            try:
                self.client.upload_file(str(tmp_path), self.bucket, full_key, Config=self.transfer)
            except (BotoCoreError, ClientError, Boto3Error) as exc:
                if size >= self.transfer.multipart_threshold:
                    self._abort_uploads(full_key)
                raise self._unavailable("store the file", exc) from exc
        finally:
            tmp_path.unlink(missing_ok=True)
        return size

    def _abort_uploads(self, full_key: str) -> None:
        """Abort unfinished multipart uploads of `full_key` (keys are unique per attempt, so all are ours).

        boto3 aborts on failure too; this catches the case where its abort itself failed transiently.
        """
        try:
            listing = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=full_key)
            for upload in listing.get("Uploads", []):
                if upload["Key"] == full_key:
                    self.client.abort_multipart_upload(Bucket=self.bucket, Key=full_key, UploadId=upload["UploadId"])
        except (BotoCoreError, ClientError) as exc:
            logger.warning("S3 could not abort the multipart upload of %s: %r", full_key, exc)

    def open(self, key: str) -> BinaryIO:
        """The object as a stream read from the network (never loaded whole)."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _is_not_found(exc):
                raise NotFound(f"no stored file {key!r}") from None
            raise self._unavailable("read the file", exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable("read the file", exc) from exc
        # boto3 ships no types: the body is botocore's StreamingBody, a readable binary file.
        return cast(BinaryIO, response["Body"])

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as exc:
            raise self._unavailable("delete the file", exc) from exc

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _is_not_found(exc):
                return False
            raise self._unavailable("check the file", exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable("check the file", exc) from exc
        return True

    def keys(self, prefix: str) -> list[str]:
        found: list[str] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                          Prefix=self.prefix + prefix)
            for page in pages:
                found.extend(item["Key"].removeprefix(self.prefix) for item in page.get("Contents", []))
        except (BotoCoreError, ClientError) as exc:
            raise self._unavailable("list files", exc) from exc
        return sorted(found)

    def presigned_url(self, key: str, *, expires_in: int, file_name: str, mime_type: str) -> str | None:
        """A SigV4 presigned GET, made locally (no request), that S3 answers with our headers.

        `expires_in` is capped at SigV4's 7 days; signed with temporary credentials the URL dies
        with them anyway, which is why the download route presigns at click time, for minutes.
        """
        params = {"Bucket": self.bucket, "Key": self._key(key),
                  "ResponseContentDisposition": content_disposition(file_name),
                  "ResponseContentType": mime_type, "ResponseCacheControl": "private, no-store"}
        try:
            url: str = self.client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=max(1, min(expires_in, MAX_PRESIGN_SECONDS)),
                HttpMethod="GET")
        except BotoCoreError as exc:  # no credentials to sign with
            raise self._unavailable("sign a download link", exc) from exc
        return url

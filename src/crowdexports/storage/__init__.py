"""Pick the storage backend from STORAGE_URL."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from crowdexports.storage.base import Storage
from crowdexports.storage.local import LocalStorage

# S3's bucket naming rules, loosely: what S3-compatible servers accept too.
BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def from_url(url: str, *, s3_endpoint_url: str | None = None, s3_region: str = "us-east-1") -> Storage:
    """`file:///abs/path` → LocalStorage; `s3://bucket/prefix` → S3Storage (at `s3_endpoint_url` if set)."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise ValueError(f"STORAGE_URL must be file:///absolute/path, got {url!r}")
        return LocalStorage(Path(unquote(parts.path)))
    if parts.scheme == "s3":
        if not BUCKET.fullmatch(parts.netloc):
            raise ValueError(f"STORAGE_URL must be s3://bucket/prefix with a valid bucket name, got {url!r}")
        from crowdexports.storage.s3 import S3Storage  # boto3 is slow to import; the embedded default skips it

        return S3Storage(parts.netloc, unquote(parts.path), endpoint_url=s3_endpoint_url, region=s3_region)
    raise ValueError(f"unsupported STORAGE_URL {url!r}: expected file:///path or s3://bucket/prefix")

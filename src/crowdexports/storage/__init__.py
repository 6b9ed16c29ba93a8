"""Pick the storage backend from STORAGE_URL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from crowdexports.storage.base import Storage
from crowdexports.storage.local import LocalStorage


def from_url(url: str) -> Storage:
    """`file:///abs/path` → LocalStorage; `s3://bucket/prefix` is planned but not built yet."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise ValueError(f"STORAGE_URL must be file:///absolute/path, got {url!r}")
        return LocalStorage(Path(unquote(parts.path)))
    if parts.scheme == "s3":
        raise ValueError("S3 storage is not available yet; use a file:/// STORAGE_URL")
    raise ValueError(f"unsupported STORAGE_URL {url!r}: expected file:///path (or s3://bucket/prefix later)")

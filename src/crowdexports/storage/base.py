"""Where export files live. A backend is chosen from STORAGE_URL by `storage.from_url`."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import quote

MAX_NAME = 150
UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9._ ()+-]")


def _ascii(text: str) -> str:
    return UNSAFE_ASCII.sub("_", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode())


def content_disposition(file_name: str) -> str:
    """RFC 6266 `attachment` with an ASCII `filename` for old clients and the UTF-8 `filename*`.

    Here rather than in the download route because S3 must serve the same header on a presigned URL.
    Control and format characters (CR, LF, NUL, RTL overrides) and path separators are dropped from
    both; the fallback also loses quotes, semicolons and percent signs, which old clients misread.
    """
    clean = "".join(ch for ch in file_name if unicodedata.category(ch)[0] != "C" and ch not in "/\\")
    clean = clean.strip(" .")[:MAX_NAME] or "export"
    stem, dot, extension = clean.rpartition(".")
    if not dot:
        stem, extension = clean, ""
    fallback = (_ascii(stem).strip(" ._") or "export") + (f".{_ascii(extension)}" if dot else "")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(clean, safe='')}"


class Storage(Protocol):
    def temp_dir(self) -> Path:
        """A local directory for files being written (same filesystem as the store when local)."""
        ...

    def publish(self, tmp_path: Path, key: str) -> int:
        """Atomically make the complete file at `tmp_path` visible under `key`; return its size.

        Nobody ever sees a partial file under `key`. `tmp_path` is consumed (moved or removed).
        """
        ...

    def open(self, key: str) -> BinaryIO:
        """Read a published file. Raises NotFound if it does not exist."""
        ...

    def delete(self, key: str) -> None:
        """Remove a published file; no error if it is already gone."""
        ...

    def exists(self, key: str) -> bool:
        ...

    def keys(self, prefix: str) -> list[str]:
        """Every published key starting with `prefix` (used to clean up files of lost attempts)."""
        ...

    def presigned_url(self, key: str, *, expires_in: int, file_name: str, mime_type: str) -> str | None:
        """A URL that serves `key` itself, as an attachment named `file_name`, for `expires_in` seconds.

        None when the backend cannot hand out such URLs (local disk): the caller then streams the file.
        """
        ...

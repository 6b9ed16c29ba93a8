"""Where export files live. A backend is chosen from STORAGE_URL by `storage.from_url`."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Protocol


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

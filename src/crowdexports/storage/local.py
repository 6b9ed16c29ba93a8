"""Export files on local disk (`file://` STORAGE_URL): the embedded default.

Files are written under `<root>/.tmp` and moved into place with `os.replace`, which is atomic on
one filesystem, so a reader sees the whole file or nothing. Keys come from the server, but they are
still checked: a key can never name a path outside the root.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import BinaryIO

from crowdexports.errors import NotFound
from crowdexports.filemodes import make_file_private, private_dir

TMP_DIR = ".tmp"


def _fsync_dir(path: Path) -> None:
    """Make a rename or unlink in `path` durable (POSIX needs the directory itself synced)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_key(key: str) -> str:
    """Return `key` if it is a safe relative key (`a/b/c.csv`), else raise ValueError."""
    if not key or "\x00" in key or "\\" in key or key.startswith("/"):
        raise ValueError(f"invalid storage key {key!r}")
    parts = key.split("/")
    if any(part in ("", ".", "..") for part in parts) or parts[0] == TMP_DIR:
        raise ValueError(f"invalid storage key {key!r}")
    return key


class LocalStorage:
    """Storage under one directory; safe for several processes on the same machine."""

    def __init__(self, root: Path) -> None:
        self.root = private_dir(root.expanduser().resolve())

    def _path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        # Also catches a symlink inside the root that points outside it.
        if not path.is_relative_to(self.root) or path == self.root:
            raise ValueError(f"storage key {key!r} leaves the storage root")
        return path

    def temp_dir(self) -> Path:
        return private_dir(self.root / TMP_DIR)

    def publish(self, tmp_path: Path, key: str) -> int:
        """Move `tmp_path` (written under temp_dir(), same filesystem) to `key` atomically."""
        try:
            dest = self._path(key)
            with open(tmp_path, "rb") as f:
                make_file_private(f.fileno())  # the writers create files with the process umask's mode
                os.fsync(f.fileno())
                size = os.fstat(f.fileno()).st_size
            self._move(tmp_path, dest)
        except BaseException:
            tmp_path.unlink(missing_ok=True)
            raise
        return size

    def _move(self, src: Path, dest: Path) -> None:
        # A concurrent delete() may remove the freshly made parent directory: make it again.
        for attempt in range(3):
            private_dir(dest.parent)
            try:
                os.replace(src, dest)
                break
            except FileNotFoundError:
                if attempt == 2 or not src.exists():
                    raise
        _fsync_dir(dest.parent)

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFound(f"no stored file {key!r}") from None

    def delete(self, key: str) -> None:
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        # Remove the directories this leaves empty; stop at the first one still in use.
        parent = path.parent
        while parent != self.root:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def keys(self, prefix: str) -> list[str]:
        base = prefix.rpartition("/")[0]
        start = self._path(base) if base else self.root
        found: list[str] = []
        for dirpath, dirnames, filenames in os.walk(start):
            if Path(dirpath) == self.root:
                dirnames[:] = [d for d in dirnames if d != TMP_DIR]
            rel = Path(dirpath).relative_to(self.root)
            found.extend(key for name in filenames if (key := (rel / name).as_posix()).startswith(prefix))
        return sorted(found)

    def presigned_url(self, key: str, *, expires_in: int, file_name: str, mime_type: str) -> str | None:
        """None: a local file has no URL of its own, so the download route streams it."""
        return None

"""LocalStorage on a real directory: atomic publish, safe keys, clean deletes."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from crowdexports.errors import NotFound
from crowdexports.storage import from_url
from crowdexports.storage.local import LocalStorage

BAD_KEYS = ["../x", "/etc/passwd", "a/../../b", "a\x00b", "a\\b", "", "a//b", "./a", "a/", ".tmp/x", ".."]


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "files")


def _temp_file(storage: LocalStorage, data: bytes, name: str = "part") -> Path:
    path = storage.temp_dir() / name
    path.write_bytes(data)
    return path


def test_temp_dir_is_inside_the_root(storage: LocalStorage) -> None:
    assert storage.temp_dir() == storage.root / ".tmp"
    assert storage.temp_dir().stat().st_dev == storage.root.stat().st_dev


def test_publish_renames_the_whole_file_into_place(storage: LocalStorage) -> None:
    data = os.urandom(3 * 1024 * 1024)
    tmp = _temp_file(storage, data)
    inode = tmp.stat().st_ino
    key = "exports/42/1-0b7c/Solar Kettle_orders_2025-06-13.csv"

    assert storage.publish(tmp, key) == len(data)

    final = storage.root / key
    assert final.stat().st_ino == inode  # moved, not copied: it appears in one step
    assert not tmp.exists()
    assert list(storage.temp_dir().iterdir()) == []
    with storage.open(key) as f:
        assert f.read() == data
    assert storage.exists(key)


def test_a_reader_never_sees_a_partial_file(storage: LocalStorage) -> None:
    data = os.urandom(32 * 1024 * 1024)
    final = storage.root / "exports/1/1-a/big.csv"
    seen: set[int] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            try:
                seen.add(final.stat().st_size)
            except FileNotFoundError:
                pass

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        storage.publish(_temp_file(storage, data), "exports/1/1-a/big.csv")
    finally:
        done.set()
        watcher.join()
    seen.add(final.stat().st_size)
    assert seen == {len(data)}


def test_publish_replaces_an_existing_file(storage: LocalStorage) -> None:
    storage.publish(_temp_file(storage, b"first"), "a/b.csv")
    storage.publish(_temp_file(storage, b"second"), "a/b.csv")
    with storage.open("a/b.csv") as f:
        assert f.read() == b"second"


@pytest.mark.parametrize("key", BAD_KEYS)
def test_unsafe_keys_are_refused_everywhere(storage: LocalStorage, key: str) -> None:
    tmp = _temp_file(storage, b"data")
    with pytest.raises(ValueError):
        storage.publish(tmp, key)
    assert not tmp.exists()  # the temp file is consumed even on failure
    for call in (storage.open, storage.delete, storage.exists):
        with pytest.raises(ValueError):
            call(key)
    assert sorted(p.name for p in storage.root.parent.iterdir()) == ["files"]


def test_a_symlink_cannot_lead_outside_the_root(storage: LocalStorage, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (storage.root / "link").symlink_to(outside)
    with pytest.raises(ValueError):
        storage.open("link/secret.txt")
    with pytest.raises(ValueError):
        storage.publish(_temp_file(storage, b"x"), "link/new.csv")
    assert not (outside / "new.csv").exists()


def test_missing_files(storage: LocalStorage) -> None:
    with pytest.raises(NotFound):
        storage.open("exports/1/nothing.csv")
    assert not storage.exists("exports/1/nothing.csv")
    storage.publish(_temp_file(storage, b"x"), "exports/1/file.csv")
    with pytest.raises(NotFound):  # a directory is not a file
        storage.open("exports/1")


def test_delete_is_idempotent_and_prunes_empty_directories(storage: LocalStorage) -> None:
    storage.publish(_temp_file(storage, b"a"), "exports/1/1-a/a.csv")
    storage.publish(_temp_file(storage, b"b"), "exports/1/2-b/b.csv")

    storage.delete("exports/1/1-a/a.csv")
    storage.delete("exports/1/1-a/a.csv")

    assert not storage.exists("exports/1/1-a/a.csv")
    assert not (storage.root / "exports/1/1-a").exists()
    assert storage.exists("exports/1/2-b/b.csv")  # the sibling and shared parents stay

    storage.delete("exports/1/2-b/b.csv")
    assert sorted(p.name for p in storage.root.iterdir()) == [".tmp"]
    assert storage.root.is_dir()


def test_keys_lists_published_files_by_prefix(storage: LocalStorage) -> None:
    for key in ("exports/1/1-a/x.csv", "exports/1/2-b/y.xlsx", "exports/12/1-c/z.csv", "other.csv"):
        storage.publish(_temp_file(storage, b"data"), key)
    _temp_file(storage, b"half written", "in-progress")

    assert storage.keys("exports/1/") == ["exports/1/1-a/x.csv", "exports/1/2-b/y.xlsx"]
    assert storage.keys("exports/1/2-") == ["exports/1/2-b/y.xlsx"]
    everything = ["exports/1/1-a/x.csv", "exports/1/2-b/y.xlsx", "exports/12/1-c/z.csv", "other.csv"]
    assert storage.keys("exports/1") == everything[:3]
    assert storage.keys("") == everything
    assert storage.keys("exports/99/") == []
    with pytest.raises(ValueError):
        storage.keys("../")


def test_from_url(tmp_path: Path) -> None:
    storage = from_url(f"file://{tmp_path}/my%20files")
    assert isinstance(storage, LocalStorage)
    assert storage.root == tmp_path / "my files"
    for url in ("file://relative/path", "ftp://host/x", str(tmp_path)):
        with pytest.raises(ValueError):
            from_url(url)

"""The modes the code gives what it makes itself, whatever the process umask (crowdexports.filemodes).

tests/e2e/test_file_modes.py proves a whole run of the real processes; these hold for a process that
never set its umask (an embedding, a test): each runs under a permissive umask of 022.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from crowdexports.config import Settings
from crowdexports.mail.outbox import OutboxMailer
from crowdexports.storage.local import LocalStorage


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> str:
    return stat.filemode(path.stat().st_mode)


def test_the_data_dir_is_made_700_and_an_existing_one_is_tightened(tmp_path: Path) -> None:
    fresh = Settings(_env_file=None, data_dir=tmp_path / "new" / "var")
    assert mode(fresh.resolved_data_dir) == "drwx------"
    assert mode(tmp_path / "new") == "drwx------"  # a missing parent made on the way
    existing = tmp_path / "old"
    existing.mkdir(mode=0o755)
    (existing / "crowdexports.db").write_bytes(b"")  # left by an older release: out of reach once the dir is 700
    assert mode(Settings(_env_file=None, data_dir=existing).resolved_data_dir) == "drwx------"


def test_the_generated_secret_key_is_600(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "var")
    assert len(settings.resolved_secret_key) >= 16
    assert mode(tmp_path / "var" / "secret_key") == "-rw-------"


def test_stored_files_are_600_and_their_folders_700(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "var" / "files")
    part = storage.temp_dir() / "export.part"
    part.write_bytes(b"order.id\r\n1\r\n")  # as a writer makes it: the umask's 644
    assert mode(part) == "-rw-r--r--"
    storage.publish(part, "exports/42/1-0b7c/orders.csv")
    assert mode(storage.root / "exports/42/1-0b7c/orders.csv") == "-rw-------"
    folders = [tmp_path / "var", storage.root, storage.temp_dir(), storage.root / "exports",
               storage.root / "exports/42", storage.root / "exports/42/1-0b7c"]
    assert {mode(folder) for folder in folders} == {"drwx------"}


def test_outbox_emails_are_600_in_a_700_folder(tmp_path: Path) -> None:
    mailer = OutboxMailer(tmp_path / "var" / "outbox")
    message = EmailMessage()
    message["Message-ID"] = "<export-1@example.com>"
    message.set_content("hello")
    mailer.send(message)
    assert mode(mailer.path_for(message)) == "-rw-------"
    assert mode(tmp_path / "var" / "outbox") == mode(tmp_path / "var") == "drwx------"

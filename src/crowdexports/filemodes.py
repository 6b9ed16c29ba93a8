"""Who may read what the service writes: its own user only. Files 600, folders 700.

Two layers, so that it holds however a process is started:
- the `crowdexports` command sets the process umask to UMASK before anything else (`restrict_process`):
  it covers the files libraries create (SQLite's databases with their -wal and -shm, Huey's queue, the
  rate limit store, temp files), and the processes it starts inherit it. The systemd units set
  `UMask=0077` too.
- the files and folders the code makes itself get their mode here, whatever the umask: the data dir
  (tightened even when it already exists), the folders of stored files, of files being built, of the
  outbox and of the queue, the secret key, published export files (outbox emails: mkstemp's 600).
  So a process started some other way still keeps everything under a 700 data dir.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

UMASK = 0o077
FILE_MODE = 0o600
DIR_MODE = 0o700


def restrict_process() -> None:
    """Files this process (and the processes it starts) creates are its user's alone."""
    os.umask(UMASK)


def private_dir(path: Path) -> Path:
    """`path`, made with DIR_MODE if missing, missing parents too (pathlib's `parents=True` would give
    them the umask's mode); an existing folder is left as it is."""
    try:
        path.mkdir(mode=DIR_MODE, exist_ok=True)
    except FileNotFoundError:
        private_dir(path.parent)
        path.mkdir(mode=DIR_MODE, exist_ok=True)
    return path


def private_data_dir(path: Path) -> Path:
    """The data dir, made if missing and set to DIR_MODE: what an older release left in it is then out
    of other users' reach too. A folder of another owner (an operator's choice) is left as it is."""
    private_dir(path)
    with contextlib.suppress(PermissionError):
        path.chmod(DIR_MODE)
    return path


def make_file_private(fd: int) -> None:
    """Give an open file FILE_MODE (the file was made by a writer that does not choose modes)."""
    os.fchmod(fd, FILE_MODE)


def write_private_file(path: Path, data: bytes) -> None:
    """Write `path` with FILE_MODE from its creation on (no moment with a wider mode)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as file:
        make_file_private(fd)  # a file left by an earlier run keeps its mode through O_CREAT
        file.write(data)

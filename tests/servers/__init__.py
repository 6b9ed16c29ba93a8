"""Real servers for the scale-out test stack, started by the tests on loopback with throwaway data.

`postgres.py` and `redis.py` each give a session-scoped fixture (registered by tests/conftest.py) and
a small control API for fault tests, described at the top of each module. A server that cannot be
found or started fails the tests that need it with a clear message: it never skips them.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

OWNER_FILE = "owner.pid"


class ServerError(RuntimeError):
    """A test server could not be found, started or stopped; the message says what to install or set."""


def free_port() -> int:
    """A TCP port free on loopback right now (the server binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(ready: Callable[[], bool], *, timeout: float, what: str, log: Path | None = None) -> None:
    """Poll `ready` until it is true; a ServerError naming `what` (with the log's tail) after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.05)
    raise ServerError(f"{what} within {timeout:.0f}s{log_tail(log)}")


def log_tail(log: Path | None, chars: int = 2000) -> str:
    if log is None or not log.exists():
        return ""
    return f"\n--- {log} (tail) ---\n{log.read_text(errors='replace')[-chars:]}"


def make_base_dir(prefix: str) -> Path:
    """A fresh temporary folder for one server, marked with this process's pid (see `orphaned_dirs`)."""
    base_dir = Path(tempfile.mkdtemp(prefix=prefix))
    (base_dir / OWNER_FILE).write_text(str(os.getpid()))
    return base_dir


def orphaned_dirs(prefix: str) -> list[Path]:
    """Folders left by test runs that were killed before they could stop their servers (their owner is gone)."""
    orphans = []
    for base_dir in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        try:
            os.kill(int((base_dir / OWNER_FILE).read_text()), 0)
        except ProcessLookupError:
            orphans.append(base_dir)
        except (OSError, ValueError):
            continue  # not ours to judge: unreadable, or its owner is alive under another user
    return orphans


def find_binary(name: str, candidates: list[Path], package: str) -> Path:
    """The first existing candidate, else `name` on PATH; a ServerError saying which package to install."""
    for candidate in [*candidates, shutil.which(name)]:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise ServerError(f"{name} not found: install it (Debian: apt-get install {package}) or point the tests at a "
                      "running server with the environment variable named in tests/servers/")

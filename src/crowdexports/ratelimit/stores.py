"""Where rate limit counters live: shared by every process of the service, so a limit holds for the
whole service and not per process. A SQLite file of their own on the embedded default, Redis at scale.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

KEY_PREFIX = "crowdexports:ratelimit:"
TIMEOUT_SECONDS = 1.0  # this is on every API request: better to fail open soon than to stall it
PURGE_EVERY_SECONDS = 60.0

# A cache, not a migrated schema: created if missing, and deleting the file only resets the counters.
_SCHEMA = """CREATE TABLE IF NOT EXISTS hits (
    key TEXT NOT NULL, window INTEGER NOT NULL, count INTEGER NOT NULL, expires INTEGER NOT NULL,
    PRIMARY KEY (key, window)) WITHOUT ROWID"""
_HIT = """INSERT INTO hits (key, window, count, expires) VALUES (?, ?, ?, ?)
    ON CONFLICT (key, window) DO UPDATE SET count = count + excluded.count, expires = excluded.expires
    RETURNING count"""
_COUNT = "SELECT count FROM hits WHERE key = ? AND window = ?"
# No index on `expires`: scanning the table once a minute costs less than an index write on every hit.
_PURGE = "DELETE FROM hits WHERE expires < ?"


class Store(Protocol):
    def increment(self, key: str, window: int, ttl_seconds: int, amount: int = 1) -> int:
        """Add `amount` hits to `key`'s counter in `window` and return that window's count, these
        included. The counter may be dropped `ttl_seconds` after its last increment."""
        ...

    def count(self, key: str, window: int) -> int:
        """`key`'s count in `window` (0 if it has none), adding nothing."""
        ...

    def close(self) -> None: ...


class _Connection(sqlite3.Connection):
    """sqlite3.Connection takes no weak references; a subclass does (SqliteStore tracks them weakly)."""


def _set_up(connection: sqlite3.Connection) -> None:
    """WAL and the table. Processes opening a new file at once can get "database is locked" here at
    once, without the busy timeout (switching to WAL takes the file's exclusive lock): try again for
    up to TIMEOUT_SECONDS."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(_SCHEMA)
            return
        except sqlite3.OperationalError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


class SqliteStore:
    """Counters in a SQLite file of their own, not the main database: order imports hold the main
    file's write lock for seconds, and API requests must not wait on that.

    The stdlib driver, one connection per thread (the event loop's and the threadpool's), autocommit:
    a hit is one upsert, one short write transaction. WAL lets readers and the writer overlap, and
    synchronous=NORMAL skips an fsync per hit (a power cut may lose the last counts: harmless here).
    A thread's connection closes when the thread ends; `close()` closes those still open.
    """

    def __init__(self, path: str | Path, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._clock = clock
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._next_purge = 0.0  # the first hit of a process purges what earlier runs left
        self._closed = False

    def increment(self, key: str, window: int, ttl_seconds: int, amount: int = 1) -> int:
        connection = self._connection()
        now = self._clock()
        if self._purge_due(now):
            connection.execute(_PURGE, (int(now),))
        # fetchall runs the statement to its end, where an autocommit write commits, whatever the driver
        # version's read-ahead: the write lock is never held past this line.
        rows = connection.execute(_HIT, (key, window, amount, int(now) + ttl_seconds)).fetchall()
        return int(rows[0][0])

    def count(self, key: str, window: int) -> int:
        row = self._connection().execute(_COUNT, (key, window)).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        with self._lock:
            self._closed = True
            connections = list(self._connections)
        for connection in connections:
            connection.close()

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise sqlite3.ProgrammingError("the rate limit store is closed")
        connection: _Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            # check_same_thread=False only so that close() may close it from another thread.
            connection = sqlite3.connect(self.path, timeout=TIMEOUT_SECONDS, isolation_level=None,
                                         check_same_thread=False, factory=_Connection)
            try:
                _set_up(connection)
            except sqlite3.Error:
                connection.close()
                raise
            self._local.connection = connection
            with self._lock:
                self._connections.add(connection)
        return connection

    def _purge_due(self, now: float) -> bool:
        """True at most once per PURGE_EVERY_SECONDS in this process: expired rows go now and then."""
        with self._lock:
            if now < self._next_purge:
                return False
            self._next_purge = now + PURGE_EVERY_SECONDS
            return True


class RedisStore:
    """Counters as Redis keys, `crowdexports:ratelimit:<namespace>:<key>:<window>`. INCR and EXPIRE go in
    one MULTI, so no counter is ever left without an expiry. The namespace (the service's queue name)
    keeps two services sharing one Redis from sharing counts.

    Short timeouts and one immediate retry: a pooled connection gone stale (Redis restarted) costs no
    fail-open, and a dead Redis costs a request little. A retried hit may count twice: harmless here.
    """

    def __init__(self, url: str, namespace: str = "") -> None:
        self._prefix = f"{KEY_PREFIX}{namespace}:"
        self._client = redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT_SECONDS,
                                            socket_timeout=TIMEOUT_SECONDS, retry=Retry(NoBackoff(), 1))

    def increment(self, key: str, window: int, ttl_seconds: int, amount: int = 1) -> int:
        name = f"{self._prefix}{key}:{window}"
        with self._client.pipeline(transaction=True) as pipe:
            pipe.incrby(name, amount)
            pipe.expire(name, ttl_seconds)
            count, _ = pipe.execute()
        return int(count)

    def count(self, key: str, window: int) -> int:
        value = self._client.get(f"{self._prefix}{key}:{window}")
        return int(value) if value is not None else 0

    def close(self) -> None:
        self._client.close()


def store_from_url(url: str, namespace: str = "") -> Store:
    """`sqlite:///<absolute path>` (the path is what follows the third slash, as in database URLs, so
    `sqlite:////srv/var/ratelimits.db`), or `redis://...` / `rediss://...` (keys under `namespace`)."""
    scheme = url.partition("://")[0].lower()
    if scheme in ("redis", "rediss"):
        return RedisStore(url, namespace)
    if scheme == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        if url.startswith("sqlite:///") and path.is_absolute():
            return SqliteStore(path)
        raise ValueError("a SQLite rate limit store needs an absolute path, sqlite:////abs/file.db: processes "
                         "started in different folders would otherwise count apart")
    # The URL is not repeated: a Redis URL may carry a password.
    raise ValueError("a rate limit store URL starts with sqlite:///, redis:// or rediss://")

"""The stores with real parts: a SQLite file shared by two OS processes, the test suite's Redis."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from crowdexports.ratelimit import Limit, RateLimiter, RedisStore, SqliteStore, store_from_url
from crowdexports.ratelimit.policy import store_key, window_of
from crowdexports.ratelimit.stores import KEY_PREFIX
from tests.conftest import STACK
from tests.ratelimit import hammer
from tests.ratelimit.conftest import T0, Clock
from tests.servers.redis import RedisServer

ROOT = Path(__file__).resolve().parents[2]
# Odd text a client could choose as a username: none of it may reach a store.
IDENTITY = "alice-s3cret-t0ken \u202e\U0001f600 \udc80"

needs_redis = pytest.mark.skipif(STACK != "scaleout", reason="needs Redis: runs in make test's scale-out pass "
                                 "(CROWDEXPORTS_TEST_STACK=scaleout)")


def hammer_from_two_processes(url: str, identity: str, hits: int, count: int) -> list[int]:
    """Each process's allowed hits, the two started at the same moment on the same limit."""
    command = [sys.executable, "-m", "tests.ratelimit.hammer", url, identity, str(hits), str(count)]
    processes = [subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                 for _ in range(2)]
    try:
        for process in processes:
            assert process.stdout is not None and process.stdout.readline() == "ready\n"
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        outputs = [process.communicate(timeout=30)[0] for process in processes]
        assert [process.returncode for process in processes] == [0, 0]
        return [int(output) for output in outputs]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def count_so_far(store: SqliteStore | RedisStore, identity: str) -> int:
    """The hammered counter's value, by one more hit."""
    return store.increment(store_key(hammer.SCOPE, identity), window_of(hammer.NOW, hammer.SECONDS),
                           hammer.SECONDS) - 1


@pytest.fixture
def sqlite_store(tmp_path: Path, clock: Clock) -> Iterator[SqliteStore]:
    store = SqliteStore(tmp_path / "ratelimits.db", clock=clock)
    yield store
    store.close()


def test_two_processes_share_one_count_in_the_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "ratelimits.db"
    allowed = hammer_from_two_processes(f"sqlite:///{path}", "alice", hits=300, count=250)
    assert sum(allowed) == 250
    store = SqliteStore(path)
    try:
        # Reserved in batches of 250 // 20 = 12 (ratelimit/limiter.py): the count, the part of the batch
        # that crossed it, and one refused batch per process; 600 if every hit had been written.
        assert 250 <= count_so_far(store, "alice") <= 250 + 3 * 12
    finally:
        store.close()


def test_threads_of_one_process_lose_no_hit(sqlite_store: SqliteStore) -> None:
    counts: list[int] = []

    def hit_50_times() -> None:
        counts.extend(sqlite_store.increment("k", 1, 60) for _ in range(50))

    threads = [threading.Thread(target=hit_50_times) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(counts) == list(range(1, 201))  # each count handed out once


def test_the_sqlite_file_holds_hashes_not_identities(sqlite_store: SqliteStore, clock: Clock) -> None:
    limiter = RateLimiter(sqlite_store, clock=clock)
    for scope in ("api", "token-username"):
        limiter.hit(scope, IDENTITY, Limit(5, 60))
    with sqlite3.connect(sqlite_store.path) as connection:
        rows = connection.execute("SELECT key, window, count, expires FROM hits ORDER BY key").fetchall()
    assert sorted(row[0] for row in rows) == sorted(store_key(scope, IDENTITY) for scope in ("api", "token-username"))
    for key, window, count, expires in rows:
        assert re.fullmatch("[0-9a-f]{32}", key)
        assert (window, count, expires) == (window_of(T0, 60), 1, int(T0) + 60)
    sqlite_store.close()  # checkpoints the WAL into the file
    assert b"alice" not in sqlite_store.path.read_bytes()


def test_expired_counters_are_purged_at_most_once_a_minute(sqlite_store: SqliteStore, clock: Clock) -> None:
    sqlite_store.increment("old", 1, 10)  # expires at T0 + 10; this first hit purged (nothing)
    clock.now = T0 + 55
    sqlite_store.increment("recent", 1, 10)  # expires at T0 + 65; no purge yet: "old" stays
    assert keys_in(sqlite_store) == ["old", "recent"]
    clock.now = T0 + 61
    sqlite_store.increment("new", 2, 10)  # a minute since the last purge: "old" goes
    assert keys_in(sqlite_store) == ["new", "recent"]
    assert sqlite_store.increment("recent", 1, 10) == 2  # a live counter kept its count


def keys_in(store: SqliteStore) -> list[str]:
    with sqlite3.connect(store.path) as connection:
        return [key for (key,) in connection.execute("SELECT key FROM hits ORDER BY key")]


def test_close_closes_every_threads_connection(sqlite_store: SqliteStore) -> None:
    closed, errors = threading.Event(), []

    def hit_then_again_after_close() -> None:  # a thread alive across close(), its connection open
        sqlite_store.increment("k", 1, 60)
        closed.wait(10)
        try:
            sqlite_store.increment("k", 1, 60)
        except sqlite3.ProgrammingError as error:
            errors.append(error)

    other = threading.Thread(target=hit_then_again_after_close)
    other.start()
    while not Path(f"{sqlite_store.path}-wal").exists():
        time.sleep(0.01)
    sqlite_store.increment("k", 1, 60)
    sqlite_store.close()
    assert not Path(f"{sqlite_store.path}-wal").exists()  # the last connection's close checkpoints
    closed.set()
    other.join()
    assert len(errors) == 1
    with pytest.raises(sqlite3.ProgrammingError):
        sqlite_store.increment("k", 1, 60)


def test_store_from_url(tmp_path: Path) -> None:
    store = store_from_url(f"sqlite:///{tmp_path / 'r.db'}")
    assert isinstance(store, SqliteStore) and store.path == tmp_path / "r.db"
    for url in ("redis://127.0.0.1:1/0", "rediss://user:pw@example.invalid:6380/2"):
        redis_store = store_from_url(url)  # connects on first use only
        assert isinstance(redis_store, RedisStore)
        redis_store.close()
    for url, message in [("sqlite:///relative.db", "absolute path"), ("sqlite://", "absolute path"),
                         ("postgresql://user:pw@db/x", "starts with sqlite:///"), ("", "starts with")]:
        with pytest.raises(ValueError, match=message) as raised:
            store_from_url(url)
        assert "pw" not in str(raised.value)


@needs_redis
def test_two_processes_share_one_count_in_redis(redis_server: RedisServer) -> None:
    identity = f"alice-{uuid.uuid4()}"  # the suite's Redis is shared: a counter of this test's own
    allowed = hammer_from_two_processes(redis_server.url(), identity, hits=300, count=250)
    assert sum(allowed) == 250
    store = RedisStore(redis_server.url())
    try:
        assert 250 <= count_so_far(store, identity) <= 250 + 3 * 12  # batches of 12: see the SQLite test
    finally:
        store.close()


@needs_redis
def test_redis_holds_hashed_keys_that_expire(redis_server: RedisServer, clock: Clock) -> None:
    identity = f"{IDENTITY}-{uuid.uuid4()}"
    limiter = RateLimiter(RedisStore(redis_server.url(), namespace="svc"), clock=clock)
    try:
        assert [limiter.hit("api", identity, Limit(2, 60)).allowed for _ in range(3)] == [True, True, False]
    finally:
        limiter.store.close()
    name = f"{KEY_PREFIX}svc:{store_key('api', identity)}:{window_of(T0, 60)}"
    client = redis.Redis.from_url(redis_server.url())
    try:
        assert client.get(name) == b"3"
        assert 0 < client.ttl(name) <= 60
        assert not [key for key in client.scan_iter(f"{KEY_PREFIX}*") if b"alice" in key]
    finally:
        client.close()


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("redis", marks=needs_redis)])
def test_failures_counted_in_one_process_are_spent_in_another(kind: str, request: pytest.FixtureRequest,
                                                              tmp_path: Path, clock: Clock) -> None:
    """`spent` reads the shared count: failures another API process counted refuse here too."""
    url = (request.getfixturevalue("redis_server").url() if kind == "redis"
           else f"sqlite:///{tmp_path / 'ratelimits.db'}")
    identity = f"{IDENTITY}-{uuid.uuid4()}"
    counting, judging = (RateLimiter(store_from_url(url), clock=clock) for _ in range(2))
    try:
        limit = Limit(2, 60)
        assert judging.spent("password", identity, limit).allowed
        counting.add("password", identity, limit)
        assert judging.spent("password", identity, limit).allowed
        counting.add("password", identity, limit)
        assert not judging.spent("password", identity, limit).allowed
    finally:
        counting.store.close()
        judging.store.close()

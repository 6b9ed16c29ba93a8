"""A store that fails lets requests through, with one warning a minute, and is left alone a while."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest
import redis.retry

from crowdexports.ratelimit import Decision, Limit, RateLimiter, RedisStore, SqliteStore
from crowdexports.ratelimit.limiter import PAUSE_SECONDS, WARN_EVERY_SECONDS
from tests.ratelimit.conftest import T0, Clock
from tests.servers import free_port

LIMIT = Limit(1, 60)


class FlakyStore:
    """Fails while `down`, else counts like a store; records how often it was asked."""

    def __init__(self) -> None:
        self.down = True
        self.calls = 0
        self.counts: dict[tuple[str, int], int] = {}

    def increment(self, key: str, window: int, ttl_seconds: int, amount: int = 1) -> int:
        self.calls += 1
        if self.down:
            raise OSError("disk on fire")
        self.counts[key, window] = self.counts.get((key, window), 0) + amount
        return self.counts[key, window]

    def count(self, key: str, window: int) -> int:
        self.calls += 1
        if self.down:
            raise OSError("disk on fire")
        return self.counts.get((key, window), 0)

    def close(self) -> None:
        pass


@pytest.fixture
def warnings(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING, logger="crowdexports.ratelimit")
    return caplog


def warning_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "crowdexports.ratelimit.limiter"]


def test_an_unopenable_sqlite_file_lets_requests_through(tmp_path: Path, clock: Clock,
                                                         warnings: pytest.LogCaptureFixture) -> None:
    # Its folder is a file: chmod would not stop root, which these tests may run as.
    (tmp_path / "not-a-folder").write_text("")
    limiter = RateLimiter(SqliteStore(tmp_path / "not-a-folder" / "ratelimits.db"), clock=clock)
    for step in range(3):  # each past the pause, so the store is asked each time
        clock.now = T0 + step * (PAUSE_SECONDS + 1)
        assert limiter.hit("api", "alice", LIMIT) == Decision(True, 0)
    [message] = warning_messages(warnings)
    assert "rate limits are not enforced" in message and "OperationalError" in message


def test_a_redis_on_a_closed_port_lets_requests_through_quickly(clock: Clock, warnings: pytest.LogCaptureFixture,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Quickly, counted rather than timed: the first hit tries the port twice (one retry, no backoff
    sleep between), the next ones not at all (the store is paused)."""
    port = free_port()
    attempts: list[tuple[str, int]] = []
    slept: list[float] = []
    connect = socket.socket.connect

    def counted_connect(sock: socket.socket, address: tuple[str, int]) -> None:
        if address == ("127.0.0.1", port):
            attempts.append(address)
        connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", counted_connect)
    monkeypatch.setattr(redis.retry, "sleep", slept.append)
    limiter = RateLimiter(RedisStore(f"redis://127.0.0.1:{port}/0"), clock=clock)
    assert [limiter.hit("api", "alice", LIMIT).allowed for _ in range(3)] == [True] * 3
    assert (len(attempts), slept) == (2, [])
    [message] = warning_messages(warnings)
    assert "ConnectionError" in message
    limiter.store.close()


def test_the_store_is_paused_after_a_failure_and_warned_about_once_a_minute(
        clock: Clock, warnings: pytest.LogCaptureFixture) -> None:
    store = FlakyStore()
    limiter = RateLimiter(store, clock=clock)
    assert limiter.hit("api", "alice", LIMIT).allowed
    clock.now = T0 + PAUSE_SECONDS - 0.1
    assert limiter.hit("api", "alice", LIMIT).allowed
    assert store.calls == 1  # paused: not asked
    clock.now = T0 + PAUSE_SECONDS
    assert limiter.hit("api", "alice", LIMIT).allowed
    assert (store.calls, len(warning_messages(warnings))) == (2, 1)  # asked again, not warned again
    clock.now = T0 + WARN_EVERY_SECONDS
    assert limiter.hit("api", "alice", LIMIT).allowed
    assert (store.calls, len(warning_messages(warnings))) == (3, 2)
    store.down = False
    clock.now = T0 + WARN_EVERY_SECONDS + PAUSE_SECONDS
    assert [limiter.hit("api", "alice", LIMIT).allowed for _ in range(2)] == [True, False]  # enforced again


def test_a_bug_is_not_taken_for_a_store_failure(clock: Clock) -> None:
    class BuggyStore(FlakyStore):
        def increment(self, key: str, window: int, ttl_seconds: int, amount: int = 1) -> int:
            raise TypeError("a bug")

    with pytest.raises(TypeError):
        RateLimiter(BuggyStore(), clock=clock).hit("api", "alice", LIMIT)


def test_hits_are_reserved_in_batches_and_a_refused_window_costs_no_store_call(clock: Clock) -> None:
    """1,200 a minute: the store is asked once per 60 hits (1/20 of the count), never past the count,
    and not at all for the refused hits after it; the next window starts over."""
    store = FlakyStore()
    store.down = False
    limiter = RateLimiter(store, clock=clock)
    limit = Limit(1200, 60)
    verdicts = [limiter.hit("api", "alice", limit).allowed for _ in range(1500)]
    assert verdicts == [True] * 1200 + [False] * 300
    assert store.calls == 1200 // 60 + 1  # 20 batches, then the one refusal
    clock.now = T0 + 60
    assert limiter.hit("api", "alice", limit).allowed and store.calls == 22

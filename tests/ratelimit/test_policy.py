"""Limits as operators write them, and fixed windows judged with a clock the tests move."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crowdexports.ratelimit import Decision, Limit, RateLimiter, SqliteStore
from crowdexports.ratelimit.policy import MAX_SECONDS
from tests.ratelimit.conftest import T0, Clock


class BrokenStore:
    def increment(self, key: str, window: int, ttl_seconds: int, amount: int = 1) -> int:
        raise AssertionError("the store must not be asked")

    def count(self, key: str, window: int) -> int:
        raise AssertionError("the store must not be asked")

    def close(self) -> None:
        pass


@pytest.mark.parametrize(("text", "limit"), [
    ("10/minute", Limit(10, 60)),
    ("1200/minute", Limit(1200, 60)),
    ("5/second", Limit(5, 1)),
    ("30/hour", Limit(30, 3600)),
    ("100/day", Limit(100, 86400)),
    ("10/30s", Limit(10, 30)),
    ("0/minute", Limit(0, 60)),
    (" 10/Minute ", Limit(10, 60)),
    ("1000000000/1s", Limit(10**9, 1)),
    (f"1/{MAX_SECONDS}s", Limit(1, 366 * 86400)),
])
def test_parse_reads_each_form(text: str, limit: Limit) -> None:
    assert Limit.parse(text) == limit


@pytest.mark.parametrize("text", ["off", "OFF", " Off "])
def test_off_is_no_limit(text: str) -> None:
    assert Limit.parse(text) is None


@pytest.mark.parametrize(("text", "message"), [
    ("", "is not a rate limit: use N/second, N/minute, N/hour, N/day, N/<S>s"),
    ("10", "is not a rate limit"),
    ("10/minutes", "is not a rate limit"),
    ("10/min", "is not a rate limit"),
    ("ten/minute", "is not a rate limit"),
    ("-1/minute", "is not a rate limit"),
    ("1.5/minute", "is not a rate limit"),
    ("10/30", "is not a rate limit"),
    ("10/ 30s", "is not a rate limit"),
    ("10/minute/2", "is not a rate limit"),
    ("on", "is not a rate limit"),
    ("\u0661\u0660/minute", "is not a rate limit"),  # Arabic-Indic "10": int() would take it
    ("9" * 5000 + "/minute", "is not a rate limit"),
    ("1000000001/minute", "count must be 0 to 1000000000, not 1000000001"),
    ("10/0s", "window must be 1 to 31622400 seconds (366 days), not 0"),
    (f"10/{MAX_SECONDS + 1}s", "window must be 1 to 31622400 seconds"),
])
def test_parse_refuses_anything_else_saying_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^'") as raised:
        Limit.parse(text)
    assert message in str(raised.value)
    assert len(str(raised.value)) < 200  # an absurd input is not echoed whole


@pytest.mark.parametrize(("count", "seconds"), [(-1, 60), (10**9 + 1, 60), (1, 0), (1, MAX_SECONDS + 1)])
def test_a_limit_refuses_absurd_values_however_made(count: int, seconds: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        Limit(count, seconds)


@pytest.fixture
def limiter(tmp_path: Path, clock: Clock) -> Iterator[RateLimiter]:
    limiter = RateLimiter(SqliteStore(tmp_path / "ratelimits.db"), clock=clock)
    yield limiter
    limiter.store.close()


def test_exactly_count_hits_pass_per_window_then_retry_after_is_the_rest_of_it(limiter: RateLimiter,
                                                                                clock: Clock) -> None:
    limit = Limit(10, 60)
    assert [limiter.hit("api", "alice", limit) for _ in range(10)] == [Decision(True, 0)] * 10
    clock.now = T0 + 15.5
    assert limiter.hit("api", "alice", limit) == Decision(False, 45)  # 44.5 s left, rounded up
    clock.now = T0 + 59.9
    assert limiter.hit("api", "alice", limit) == Decision(False, 1)
    clock.now = T0 + 60  # the next window
    assert [limiter.hit("api", "alice", limit).allowed for _ in range(11)] == [True] * 10 + [False]


def test_keys_and_scopes_count_apart(limiter: RateLimiter) -> None:
    limit = Limit(2, 60)
    for _ in range(3):
        limiter.hit("api", "alice", limit)
    assert not limiter.hit("api", "alice", limit).allowed
    assert limiter.hit("api", "bob", limit).allowed
    assert limiter.hit("token-username", "alice", limit).allowed


def test_a_count_of_zero_denies_everything_without_asking_the_store(clock: Clock) -> None:
    limiter = RateLimiter(BrokenStore(), clock=clock)
    clock.now = T0 + 20
    assert limiter.hit("api", "alice", Limit(0, 60)) == Decision(False, 40)


def test_no_limit_allows_without_asking_the_store(clock: Clock) -> None:
    assert RateLimiter(BrokenStore(), clock=clock).hit("api", "alice", None) == Decision(True, 0)


def test_failures_are_judged_before_an_attempt_and_counted_after_it(limiter: RateLimiter, clock: Clock) -> None:
    """`spent` counts nothing (a success costs nothing), `add` counts one failure, exactly."""
    limit = Limit(3, 60)
    assert [limiter.spent("password", "alice", limit).allowed for _ in range(10)] == [True] * 10
    for _ in range(3):
        limiter.add("password", "alice", limit)
    clock.now = T0 + 20
    assert limiter.spent("password", "alice", limit) == Decision(False, 40)
    assert limiter.spent("password", "bob", limit).allowed
    clock.now = T0 + 60  # the next window
    assert limiter.spent("password", "alice", limit).allowed

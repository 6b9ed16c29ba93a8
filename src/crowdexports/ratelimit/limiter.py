"""The rate limiter: counts a request in a store shared by the processes and judges it by a Limit."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable

import redis

from crowdexports.ratelimit.policy import ALLOWED, Decision, Limit, decide, store_key, window_of
from crowdexports.ratelimit.stores import Store

STORE_ERRORS = (sqlite3.Error, OSError, redis.RedisError)
RESERVE_PARTS = 20  # a process takes a limit's count from the store in 1/20ths (see RateLimiter)
PAUSE_SECONDS = 5.0  # after a store failure, hits are allowed without asking the store for this long
WARN_EVERY_SECONDS = 60.0

log = logging.getLogger(__name__)


class RateLimiter:
    """Counts hits per (scope, identity) in fixed windows and judges them against a Limit.

    It fails OPEN: when the store fails, the hit is allowed and a warning logged (at most one per
    minute, so a dead store does not flood the logs). Limits protect against abuse; going without them
    for a while is better than refusing every request because a counter cannot be written: losing the
    limiter must not take the API down. After a failure the store is left alone for PAUSE_SECONDS, so
    a store that hangs until its timeout does not slow every request meanwhile.

    Hits are reserved in batches: a process adds 1/RESERVE_PARTS of the limit's count to the shared
    counter at once (at least 1) and spends that reservation locally, and once a window is refused it
    stays refused here without asking the store. A write per request cost a third of the API's
    throughput at 1,800 requests/s (`make bench-api`); this is one write per 60 requests at 1,200 a
    minute. The count is never exceeded, whatever the processes; a client may be refused up to a
    batch per other process early (5 % of the count each), and a small count (< 40) is exact.
    """

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._paused_until = float("-inf")
        self._next_warning = float("-inf")
        # (stored key, window) -> hits left of this process's reservation (-1: refused for the window),
        # and when the window ends.
        self._reserved: dict[tuple[str, int], tuple[int, float]] = {}
        self._next_prune = float("-inf")

    def hit(self, scope: str, identity: str, limit: Limit | None) -> Decision:
        """Count one request of `identity` (a token's hash, a username...) under `scope` and judge it.

        No limit: allowed, no I/O. A count of 0: denied, no I/O, so an operator's "none at all" holds
        even while the store is down."""
        if limit is None:
            return ALLOWED
        local = self._judge_locally(scope, identity, limit)
        if isinstance(local, Decision):
            return local
        slot, ends, now = local
        with self._lock:
            left = self._reserved.get(slot, (0, ends))[0]
            if left > 0:
                self._reserved[slot] = (left - 1, ends)
                return ALLOWED
        if left < 0:
            return decide(limit, limit.count + 1, now)
        batch = max(1, limit.count // RESERVE_PARTS)
        try:
            count = self.store.increment(*slot, limit.seconds, batch)
        except STORE_ERRORS as error:
            self._store_failed(now, error)
            return ALLOWED
        granted = min(batch, limit.count - (count - batch))  # what is left of the count, up to the batch
        self._keep(slot, granted - 1 if granted > 0 else -1, ends, now)
        return ALLOWED if granted > 0 else decide(limit, count, now)

    def spent(self, scope: str, identity: str, limit: Limit | None) -> Decision:
        """Whether `identity` has used up `limit` in this window, counting nothing: for limits on
        failures, judged before an attempt and counted by `add` only if it fails. One store read, and
        none once this process saw the window spent. Fails open, as `hit`."""
        if limit is None:
            return ALLOWED
        local = self._judge_locally(scope, identity, limit)
        if isinstance(local, Decision):
            return local
        slot, ends, now = local
        with self._lock:
            if self._reserved.get(slot, (0, ends))[0] < 0:
                return decide(limit, limit.count + 1, now)
        try:
            count = self.store.count(*slot)
        except STORE_ERRORS as error:
            self._store_failed(now, error)
            return ALLOWED
        if count < limit.count:
            return ALLOWED
        self._keep(slot, -1, ends, now)
        return decide(limit, count + 1, now)

    def add(self, scope: str, identity: str, limit: Limit | None) -> None:
        """Count one failure against a limit judged by `spent`: exactly, one store write (no batch)."""
        if limit is None or limit.count == 0:
            return
        now = self._clock()
        if now < self._paused_until:
            return
        slot, ends = self._slot(scope, identity, limit, now)
        try:
            count = self.store.increment(*slot, limit.seconds)
        except STORE_ERRORS as error:
            self._store_failed(now, error)
            return
        if count >= limit.count:
            self._keep(slot, -1, ends, now)

    def _judge_locally(self, scope: str, identity: str, limit: Limit
                       ) -> Decision | tuple[tuple[str, int], float, float]:
        """The verdict that needs no store, or the (slot, its end, now) to ask the store about: a count of 0
        is denied (an operator's "none at all" holds while the store is down), and while the store is
        paused after a failure all is allowed."""
        now = self._clock()
        if limit.count == 0:
            return decide(limit, 1, now)
        if now < self._paused_until:
            return ALLOWED
        slot, ends = self._slot(scope, identity, limit, now)
        return slot, ends, now

    @staticmethod
    def _slot(scope: str, identity: str, limit: Limit, now: float) -> tuple[tuple[str, int], float]:
        """(stored key, window) of a hit at `now`, and when that window ends."""
        window = window_of(now, limit.seconds)
        return (store_key(scope, identity), window), (window + 1) * limit.seconds

    def _keep(self, slot: tuple[str, int], left: int, ends: float, now: float) -> None:
        """Note what is left of a slot here (-1: refused until `ends`)."""
        with self._lock:
            if now >= self._next_prune:  # reservations of ended windows go, once a minute
                self._next_prune = now + 60
                self._reserved = {slot: kept for slot, kept in self._reserved.items() if kept[1] > now}
            self._reserved[slot] = (left, ends)

    def _store_failed(self, now: float, error: Exception) -> None:
        with self._lock:
            self._paused_until = now + PAUSE_SECONDS
            if now < self._next_warning:
                return
            self._next_warning = now + WARN_EVERY_SECONDS
        log.warning("rate limits are not enforced: their store failed (%s: %s); requests are allowed, and "
                    "the store is tried again every %.0f s (this warning repeats at most every %.0f s)",
                    type(error).__name__, error, PAUSE_SECONDS, WARN_EVERY_SECONDS)

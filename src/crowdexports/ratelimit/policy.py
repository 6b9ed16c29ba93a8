"""Rate limits: what a limit is, the key a hit is counted under, and the verdict on a count. No I/O.

Fixed windows: time is cut into windows of `seconds` (window number = floor(now / seconds)) and a key
has one counter per window. A hit is one increment of one counter: a single write that any store
(SQLite, Redis) shares across processes with no read-modify-write race, and the verdict needs nothing
more. The price is at a window's edge: a client can spend its whole count at the end of one window and
again at the start of the next, up to 2x the count in a short time. That is acceptable for abuse
protection; sliding windows or token buckets would cost several reads and writes per hit.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass

MAX_COUNT = 10**9
MAX_SECONDS = 366 * 24 * 3600
UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 24 * 3600}
_FORMS = "N/second, N/minute, N/hour, N/day, N/<S>s (N per S seconds), or off"
# ASCII digits only, and few of them: int() would take other scripts' digits and 10,000-digit numbers.
_LIMIT = re.compile(r"([0-9]{1,10})/(?:(second|minute|hour|day)|([0-9]{1,10})s)")


@dataclass(frozen=True)
class Limit:
    """At most `count` hits per window of `seconds`; a count of 0 allows none."""

    count: int
    seconds: int

    def __post_init__(self) -> None:
        if not 0 <= self.count <= MAX_COUNT:
            raise ValueError(f"a rate limit's count must be 0 to {MAX_COUNT}, not {self.count}")
        if not 1 <= self.seconds <= MAX_SECONDS:
            raise ValueError(f"a rate limit's window must be 1 to {MAX_SECONDS} seconds (366 days), "
                             f"not {self.seconds}")

    @classmethod
    def parse(cls, text: str) -> Limit | None:
        """`10/minute`, `5/second`, `30/hour`, `100/day`, `10/30s`; `off` (any case) is None: no limit.

        Raises ValueError with a message for the operator who wrote `text` (it reaches them through
        the settings' validation)."""
        cleaned = text.strip().lower()
        if cleaned == "off":
            return None
        match = _LIMIT.fullmatch(cleaned)
        if match is None:
            raise ValueError(f"{text[:40]!r} is not a rate limit: use {_FORMS}")
        count, unit, seconds = match.groups()
        try:
            return cls(int(count), UNITS[unit] if unit else int(seconds))
        except ValueError as error:
            raise ValueError(f"{text[:40]!r}: {error}") from None


@dataclass(frozen=True)
class Decision:
    """Whether a hit may go on; when not, `retry_after` is the whole seconds (>= 1) to its window's end."""

    allowed: bool
    retry_after: int = 0


ALLOWED = Decision(True)


def window_of(now: float, seconds: int) -> int:
    return math.floor(now / seconds)


def decide(limit: Limit, count: int, now: float) -> Decision:
    """The verdict on a hit at `now` that made its window's counter `count` (itself included)."""
    if count <= limit.count:
        return ALLOWED
    window_end = (window_of(now, limit.seconds) + 1) * limit.seconds
    return Decision(False, max(1, math.ceil(window_end - now)))


def store_key(scope: str, identity: str) -> str:
    """The stored key of (scope, identity): 32 hex digits of SHA-256, so a store never holds a token, a
    username or any text a client chose, and every key has the same small size."""
    data = f"{scope}\0{identity}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()[:32]

"""One of the OS processes that hit one limit at once in the shared-count tests:

    python -m tests.ratelimit.hammer STORE_URL IDENTITY HITS COUNT

prints "ready", waits for a line on stdin (so the processes start together), makes HITS hits against
COUNT per day at the fixed instant NOW (no window edge mid-test), and prints how many were allowed.
"""

from __future__ import annotations

import sys

from crowdexports.ratelimit import Limit, RateLimiter, store_from_url

SCOPE = "hammer"
NOW = 1_000_000_000.0
SECONDS = 24 * 3600


def main(url: str, identity: str, hits: str, count: str) -> None:
    limiter = RateLimiter(store_from_url(url), clock=lambda: NOW)
    limit = Limit(int(count), SECONDS)
    print("ready", flush=True)
    sys.stdin.readline()
    print(sum(limiter.hit(SCOPE, identity, limit).allowed for _ in range(int(hits))), flush=True)
    limiter.store.close()


if __name__ == "__main__":
    main(*sys.argv[1:])

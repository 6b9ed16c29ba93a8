"""Rate limiting: fixed-window counters shared by every process of the service (policy.py says why
fixed windows), failing open when their store is down (limiter.py). The API decides what to limit."""

from crowdexports.ratelimit.limiter import RateLimiter
from crowdexports.ratelimit.policy import Decision, Limit
from crowdexports.ratelimit.stores import RedisStore, SqliteStore, Store, store_from_url

__all__ = ["Decision", "Limit", "RateLimiter", "RedisStore", "SqliteStore", "Store", "store_from_url"]

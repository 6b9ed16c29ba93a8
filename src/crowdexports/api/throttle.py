"""The API's rate limits: which requests count against which limit, and a 429 when one is over.

Counting is `crowdexports.ratelimit`'s, in a store every API process shares; the limits are settings
(README "Capacity"). The rules:
- every authenticated request counts against its credential: the Bearer token or API key itself, or
  for HTTP Basic the username (`rate_limit_api`);
- every argon2 password check counts against the username (`rate_limit_password`): password grants,
  and HTTP Basic requests whose password is not remembered as verified, so guessing passwords is slow
  through either door, while a Basic client with the right password is checked once a minute;
- every token request counts against the OAuth client and the caller's IP address
  (`rate_limit_token_client`, `rate_limit_token_address`).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool

from crowdexports.config import Settings
from crowdexports.errors import RateLimited
from crowdexports.ratelimit import Limit, RateLimiter, SqliteStore, store_from_url


class Throttle:
    def __init__(self, settings: Settings) -> None:
        store = store_from_url(settings.resolved_rate_limit_url, namespace=settings.queue_name)
        self.limiter = RateLimiter(store)
        self.settings = settings
        # A SQLite count is a short local write: done on the event loop, like SQLite reads (api/deps.py).
        self.on_event_loop = isinstance(store, SqliteStore)

    def _check(self, scope: str, identity: str, limit: Limit | None, what: str) -> None:
        decision = self.limiter.hit(scope, identity, limit)
        if not decision.allowed:
            raise RateLimited(f"Too many {what}; try again in {decision.retry_after} s.", decision.retry_after)

    async def _count(self, scope: str, identity: str, limit: Limit | None, what: str) -> None:
        if limit is None:
            return
        if self.on_event_loop:
            self._check(scope, identity, limit, what)
        else:
            await run_in_threadpool(self._check, scope, identity, limit, what)

    async def api_request(self, credential: str) -> None:
        """`credential`: the token or key as sent, or `basic:<username>` (never a password)."""
        await self._count("api", credential, self.settings.rate_limit_api, "requests with these credentials")

    async def password_check(self, username: str) -> None:
        await self._count("password", username, self.settings.rate_limit_password,
                          f"password attempts for {username[:40]!r}")

    async def token_request(self, address: str, client_id: str) -> None:
        await self._count("token-address", address, self.settings.rate_limit_token_address,
                          "token requests from this address")
        await self._count("token-client", client_id, self.settings.rate_limit_token_client,
                          "token requests for this client")

    def close(self) -> None:
        self.limiter.store.close()

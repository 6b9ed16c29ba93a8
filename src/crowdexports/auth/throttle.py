"""The API's rate limits: which requests count against which limit, and a 429 when one is over.

Counting is `crowdexports.ratelimit`'s, in a store every API process shares; the limits are settings
(README "Settings", docs/decisions.md "Limits"). The rules:
- every authenticated request counts against its credential: the Bearer token or API key itself
  (however the header spells it), or for HTTP Basic the username (`rate_limit_api`);
- failed password checks (HTTP Basic, password grants) count per username from one address
  (`rate_limit_password`), per username from anywhere (`rate_limit_password_user`, larger) and per
  address (`rate_limit_password_address`); once one is spent, a password attempt it covers is 429
  before any hash. Only failures count: an owner's right password spends nothing, and a stranger's
  guesses spend their own address's budgets, so it takes many addresses to keep an owner out;
- every token request counts against the caller's IP address before anything is checked
  (`rate_limit_token_address`), and against its OAuth client once that client authenticated
  (`rate_limit_token_client`): knowing a client_id is not enough to spend its budget.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from crowdexports.config import Settings
from crowdexports.errors import RateLimited
from crowdexports.ratelimit import Decision, Limit, RateLimiter, SqliteStore, store_from_url


def address_of(request: Request) -> str:
    """The caller's IP address as the server saw it."""
    return request.client.host if request.client else ""


def _refuse(decision: Decision, what: str) -> None:
    if not decision.allowed:
        raise RateLimited(f"Too many {what}; try again in {decision.retry_after} s.", decision.retry_after)


class Throttle:
    """The async methods are for the event loop; the others are for code already in a thread."""

    def __init__(self, settings: Settings, clock: Callable[[], float]) -> None:
        store = store_from_url(settings.resolved_rate_limit_url, namespace=settings.queue_name)
        self.limiter = RateLimiter(store, clock)
        self.settings = settings
        # A SQLite count is a short local write: done on the event loop, like SQLite reads (api/database.py).
        self.on_event_loop = isinstance(store, SqliteStore)

    def _check(self, scope: str, identity: str, limit: Limit | None, what: str) -> None:
        _refuse(self.limiter.hit(scope, identity, limit), what)

    async def _count(self, scope: str, identity: str, limit: Limit | None, what: str) -> None:
        if limit is None:
            return
        if self.on_event_loop:
            self._check(scope, identity, limit, what)
        else:
            await run_in_threadpool(self._check, scope, identity, limit, what)

    async def api_request(self, credential: str) -> None:
        """`credential`: `bearer:<token>`, `apikey:<key>` or `basic:<username>` (never a password)."""
        await self._count("api", credential, self.settings.rate_limit_api, "requests with these credentials")

    async def token_request(self, address: str) -> None:
        await self._count("token-address", address, self.settings.rate_limit_token_address,
                          "token requests from this address")

    def authenticated_token_request(self, client_id: str) -> None:
        """Only once the client's secret was checked."""
        self._check("token-client", client_id, self.settings.rate_limit_token_client,
                    "token requests for this client")

    def _password_budgets(self, username: str, address: str) -> tuple[tuple[str, str, Limit | None, str], ...]:
        settings, named = self.settings, f"{username[:40]!r}"
        # The address first: it holds no NUL, so (address, username) pairs cannot collide.
        return (("password-address", address, settings.rate_limit_password_address, "from this address"),
                ("password", f"{address}\0{username}", settings.rate_limit_password,
                 f"for {named} from this address"),
                ("password-user", username, settings.rate_limit_password_user, f"for {named}"))

    def password_attempt(self, username: str, address: str) -> None:
        """Before an argon2 check: 429 if a budget of failed checks it falls under is spent."""
        for scope, identity, limit, what in self._password_budgets(username, address):
            _refuse(self.limiter.spent(scope, identity, limit), f"failed password checks {what}")

    def password_failed(self, username: str, address: str) -> None:
        for scope, identity, limit, _ in self._password_budgets(username, address):
            self.limiter.add(scope, identity, limit)

    def close(self) -> None:
        self.limiter.store.close()

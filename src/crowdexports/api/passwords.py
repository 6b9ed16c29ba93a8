"""HTTP Basic without an argon2 hash per request (SPEC §8: ~120 ms each would cap Basic at ~10/s).

A verified (username, password) pair is remembered for a minute (`security.VerifiedPasswords`: under
a keyed hash, with the stored hash in the key, so a changed password counts at once). Requests that
arrive together with the same pair share one check: a client opening 64 connections at once costs
one hash, not 64, and one count against the username's password limit (api/throttle.py).
"""

from __future__ import annotations

import asyncio

from starlette.concurrency import run_in_threadpool

from crowdexports.api.throttle import Throttle
from crowdexports.security import VerifiedPasswords


class BasicPasswords:
    def __init__(self, secret: str, throttle: Throttle) -> None:
        self.verified = VerifiedPasswords(secret)
        self.throttle = throttle
        self._in_flight: dict[bytes, asyncio.Future[bool]] = {}

    async def check(self, username: str, password: str, password_hash: str | None) -> bool:
        if self.verified.remembers(username, password, password_hash):
            return True
        key = self.verified.key(username, password, password_hash or "")
        pending = self._in_flight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        outcome: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = outcome
        try:
            await self.throttle.password_check(username)
            # argon2 is CPU for ~120 ms: never on the event loop.
            matched = await run_in_threadpool(self.verified.check, username, password, password_hash)
        except BaseException as error:
            outcome.set_exception(error)
            outcome.exception()  # retrieved here: those who shared the check re-raise it themselves
            raise
        else:
            outcome.set_result(matched)
            return matched
        finally:
            del self._in_flight[key]

"""Password checks: the one place an API process runs argon2, for HTTP Basic and the password grant.

argon2 costs ~120 ms of CPU and 64 MiB per check (SPEC §8). `PasswordChecks` runs at most
`password_checks` at once in a process, lets at most `password_checks_waiting` more wait, and answers
any beyond 429 at once: memory stays flat and other requests keep their turns (a flood of Basic
requests with random usernames took each process from ~190 MiB to 1.2 GiB, and /healthz 12-24 s).
Failed checks are rate limited per username and address (auth/throttle.py), before any hash.

HTTP Basic also goes without a hash per request: a verified (username, password) pair is remembered
for a minute (`credentials.VerifiedPasswords`: under a keyed hash, with the stored hash in the key, so a
changed password counts at once), and requests from one address that arrive together with the same
pair share one check: a client opening 64 connections at once costs one hash, not 64.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from starlette.concurrency import run_in_threadpool

from crowdexports.auth import credentials
from crowdexports.auth.throttle import Throttle
from crowdexports.config import Settings
from crowdexports.errors import RateLimited


class PasswordChecks:
    def __init__(self, settings: Settings, throttle: Throttle) -> None:
        self.throttle = throttle
        self._running = threading.Semaphore(settings.password_checks)
        self._max_taken = settings.password_checks + settings.password_checks_waiting
        self._taken = 0  # checks running or waiting to
        self._lock = threading.Lock()

    def verify(self, password: str, password_hash: str | None, *, username: str, address: str) -> bool:
        """credentials.verify_password, bounded and throttled. Blocks its thread (argon2 is CPU): call it
        from a thread, never the event loop."""
        self.throttle.password_attempt(username, address)
        with self._turn():
            matched = credentials.verify_password(password, password_hash)
        if not matched:
            self.throttle.password_failed(username, address)
        return matched

    @contextmanager
    def _turn(self) -> Iterator[None]:
        with self._lock:
            if self._taken >= self._max_taken:
                raise RateLimited("Too many password checks at once; try again in 1 s.", 1)
            self._taken += 1
        try:
            with self._running:
                yield
        finally:
            with self._lock:
                self._taken -= 1


class BasicPasswords:
    def __init__(self, secret: str, checks: PasswordChecks) -> None:
        self.verified = credentials.VerifiedPasswords(secret)
        self.checks = checks
        self._in_flight: dict[tuple[bytes, str], asyncio.Future[bool]] = {}

    async def check(self, username: str, password: str, password_hash: str | None, address: str) -> bool:
        if self.verified.remembers(username, password, password_hash):
            return True
        key = (self.verified.key(username, password, password_hash or ""), address)
        pending = self._in_flight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        outcome: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = outcome
        try:
            matched = await run_in_threadpool(self.checks.verify, password, password_hash, username=username,
                                              address=address)
            if matched and password_hash is not None:
                self.verified.remember(username, password, password_hash)
        except BaseException as error:
            outcome.set_exception(error)
            outcome.exception()  # retrieved here: those who shared the check re-raise it themselves
            raise
        else:
            outcome.set_result(matched)
            return matched
        finally:
            del self._in_flight[key]

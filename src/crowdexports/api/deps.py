"""Request-scoped dependencies: the session, who is calling, and the resources they may touch.

Lookups and access checks live here as chained dependencies, so routes stay a few lines and every
route checks access the same way. Checks raise domain errors; `api/errors.py` maps them.

The dependencies are `async` and do their database reads through `in_database`: on SQLite the reads
run on the event loop itself. FastAPI runs a sync dependency in a thread, and those hand-offs, four
per request here, capped a show at ~700 requests/s on two cores (SPEC §8). Writes stay in sync
routes, in threads: a write may wait on SQLite's lock, and the event loop must never wait.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, ParamSpec, TypeVar

from fastapi import Depends, Request
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import PoolProxiedConnection
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from crowdexports.api.openapi import CALLER, answers
from crowdexports.api.parameters import parse_id
from crowdexports.auth import credentials
from crowdexports.auth.passwords import BasicPasswords
from crowdexports.auth.throttle import Throttle, address_of
from crowdexports.database.hotsql import HotConnection
from crowdexports.errors import AuthenticationFailed, Conflict, FieldProblem, Forbidden, InvalidInput, NotFound
from crowdexports.exports import access
from crowdexports.models import ApiKey, Export, Project, User, UserRecord
from crowdexports.runtime import Runtime
from crowdexports.sync.records import decode_json

INVALID_TOKEN = 'Bearer realm="api", error="invalid_token"'
P = ParamSpec("P")
T = TypeVar("T")


async def get_runtime(request: Request) -> Runtime:  # async: a sync dependency costs a thread hand-off
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_dispatch_export(request: Request) -> Callable[[int], None]:
    """The worker's doorbell for a new export (create_app's `dispatch_export`)."""
    dispatch: Callable[[int], None] = request.app.state.dispatch_export
    return dispatch


DispatchExportDep = Annotated[Callable[[int], None], Depends(get_dispatch_export)]


async def in_database(runtime: Runtime, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`work(*args, **kwargs)`, which reads the database, where it costs least. SQLite reads take
    microseconds on a local file and never wait on a writer (WAL): they run right here, on the event
    loop. PostgreSQL's wait on the network, so they go to a thread."""
    if runtime.reads_on_event_loop:
        return work(*args, **kwargs)
    return await run_in_threadpool(work, *args, **kwargs)


@answers(503)
async def get_session(runtime: RuntimeDep) -> AsyncIterator[Session]:
    session = runtime.sessions()
    try:
        yield session
    finally:
        await in_database(runtime, session.close)


# scope="function": the session is closed, and its connection back in the pool, as soon as the route
# returns, not after the response is sent (a download streams for minutes without the database).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


class PooledReads(HotConnection):
    """A connection from the engine's pool, taken at the first read and handed back by `release`.

    A request waiting on something that needs no database (an argon2 check, a count in Redis) holds no
    connection, so a process never has more open than requests reading at that moment: on SQLite each
    one keeps its own page cache (2 MiB), and a burst of Basic requests waiting on one password check
    used to open 16 per process, 32 MiB that stayed (the soak of `make bench-api`)."""

    __slots__ = ("_engine", "_pooled")

    def __init__(self, engine: Engine) -> None:
        super().__init__(None, engine.dialect)
        self._engine = engine
        self._pooled: PoolProxiedConnection | None = None

    def dbapi(self) -> DBAPIConnection:
        if self._pooled is None:
            self._pooled = self._engine.raw_connection()
            self._dbapi = self._pooled.dbapi_connection
        return super().dbapi()

    def release(self) -> None:
        """Back to the pool (a rollback on the way, which PostgreSQL answers over the network: call it
        through `in_database`); the next read takes one again."""
        pooled, self._pooled, self._dbapi = self._pooled, None, None
        if pooled is not None:
            pooled.close()


@asynccontextmanager
async def hot_reads(runtime: Runtime) -> AsyncIterator[PooledReads]:
    """Pooled reads for what every request reads (who is calling) and the hot routes (show, list), run
    as HotStatements (crowdexports/database/hotsql.py says why); the connection is back in the pool at the end.
    The driver's errors are raised as SQLAlchemy's, as Core would: api/errors.py maps them (503)."""
    driver_error = runtime.engine.dialect.loaded_dbapi.Error
    reads = PooledReads(runtime.engine)
    try:
        yield reads
    except driver_error as error:
        raise DBAPIError.instance(None, None, error, driver_error) from error
    finally:
        await in_database(runtime, reads.release)


@dataclass(frozen=True)
class Caller:
    user: UserRecord
    can_write: bool  # only Bearer tokens may write; API keys and passwords are read-only (SPEC §2)


def _api_key(connection: HotConnection, username: str, key: str) -> UserRecord | None:
    """`APIKey <key>`, or the older `ApiKey <username>:<key>` where the key must be that user's."""
    user = credentials.user_for_api_key(connection, key)
    return user if user is not None and (not username or user.username == username) else None


def _basic_pair(presented: str) -> tuple[str, str] | None:
    try:
        decoded = base64.b64decode(presented, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, colon, password = decoded.partition(":")
    return (username, password) if colon else None


async def _basic(request: Request, runtime: Runtime, reads: PooledReads, username: str,
                 password: str) -> UserRecord | None:
    user, password_hash = await in_database(runtime, credentials.user_and_password_hash, reads, username)
    passwords: BasicPasswords = request.app.state.basic_passwords
    if passwords.verified.remembers(username, password, password_hash):
        return user
    await in_database(runtime, reads.release)  # the argon2 check, or the wait for another's, needs none
    return user if await passwords.check(username, password, password_hash, address_of(request)) else None


async def authenticate(request: Request, runtime: Runtime, connection: PooledReads) -> Caller:
    """Who is calling, from the Authorization header (scheme names are case-insensitive). Each call
    counts against its credential's rate limit first (auth/throttle.py), found or not: the credential
    itself, so `APIKey K`, `ApiKey :K` and `ApiKey user:K` share one budget."""
    scheme, _, presented = request.headers.get("authorization", "").strip().partition(" ")
    scheme, presented = scheme.lower(), presented.strip()
    throttle: Throttle = request.app.state.throttle
    if scheme == "bearer":
        await throttle.api_request(f"bearer:{presented}")
        user = await in_database(runtime, credentials.user_for_access_token, connection, presented)
        if user is None:
            raise AuthenticationFailed("The access token is invalid or has expired.", INVALID_TOKEN)
        return Caller(user, can_write=True)
    if scheme == "apikey":
        username, _, key = presented.rpartition(":")
        await throttle.api_request(f"apikey:{key}")
        user = await in_database(runtime, _api_key, connection, username, key)
    elif scheme == "basic":
        pair = _basic_pair(presented)
        if pair is not None:
            await throttle.api_request(f"basic:{pair[0]}")
        user = await _basic(request, runtime, connection, *pair) if pair is not None else None
    elif not scheme:
        raise AuthenticationFailed("Authentication credentials were not provided.")
    else:
        raise AuthenticationFailed("Unsupported authorization scheme: use Bearer, APIKey or Basic.")
    if user is None:
        raise AuthenticationFailed("Invalid credentials.")
    return Caller(user, can_write=False)


@answers(*CALLER)
async def get_caller(request: Request, runtime: RuntimeDep) -> Caller:
    async with hot_reads(runtime) as connection:
        return await authenticate(request, runtime, connection)


CallerDep = Annotated[Caller, Depends(get_caller)]


def _writer(caller: Caller) -> None:
    if not caller.can_write:
        raise Forbidden("Writing needs a Bearer token: API keys and passwords give read-only access.")


@answers(403)
async def own_project_for_write(project_id: str, runtime: RuntimeDep, session: SessionDep,
                                caller: CallerDep) -> Project:
    """The project for its owner only (an export goes to whoever asks), with a Bearer token."""
    project = await in_database(runtime, access.owned_project, session, parse_id(project_id), caller.user,
                                staff_allowed=False)
    _writer(caller)
    return project


async def visible_export(export_id: str, runtime: RuntimeDep, session: SessionDep, caller: CallerDep) -> Export:
    return await in_database(runtime, access.visible_export, session, parse_id(export_id), caller.user)


@answers(403)
async def cancelable_export(export: Annotated[Export, Depends(visible_export)], caller: CallerDep) -> Export:
    """Staff only; others who can see the export get 403, the rest already got 404."""
    _writer(caller)
    if not caller.user.is_staff:
        raise Forbidden("Only staff may cancel an export.")
    return export


@answers(403)
async def staff_writer(caller: CallerDep) -> Caller:
    """Staff with a Bearer token: the platform's sync account (SPEC §7)."""
    _writer(caller)
    if not caller.user.is_staff:
        raise Forbidden("Only staff may sync the platform's data.")
    return caller


StaffWriter = Annotated[Caller, Depends(staff_writer)]


@answers(403, 409)
async def acted_user(user_id: str, runtime: RuntimeDep, session: SessionDep, caller: StaffWriter) -> User:
    """A user the platform acts for: credentials are minted for active non-staff users only. Staff may make
    anyone staff with a PUT, but a staff account's own credentials come from its password, never from
    another account's token (docs/decisions.md)."""
    user = await in_database(runtime, session.get, User, parse_id(user_id))
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    if user.is_staff:
        raise Forbidden("Credentials of a staff account are not issued for it: use its password.")
    if not user.is_active:
        raise Conflict(f"User {user.id} is not active: no credentials are issued for it.")
    return user


async def visible_api_key(api_key_id: str, runtime: RuntimeDep, session: SessionDep, caller: CallerDep) -> ApiKey:
    """A key for its owner and staff; to anyone else it does not exist (whose keys exist is private)."""
    key = await in_database(runtime, session.get, ApiKey, parse_id(api_key_id))
    if key is None or not (caller.user.is_staff or key.user_id == caller.user.id):
        raise NotFound(f"API key {api_key_id} does not exist")
    return key


@answers(403)
async def revocable_api_key(key: Annotated[ApiKey, Depends(visible_api_key)], caller: CallerDep) -> ApiKey:
    _writer(caller)
    return key


OwnProjectForWrite = Annotated[Project, Depends(own_project_for_write)]
CancelableExport = Annotated[Export, Depends(cancelable_export)]
ActedUser = Annotated[User, Depends(acted_user)]
RevocableApiKey = Annotated[ApiKey, Depends(revocable_api_key)]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _undecodable(message: str) -> InvalidInput:
    return InvalidInput([FieldProblem([], message, "DeserializationError")])


def _plain_json(text: str) -> Any:
    return json.loads(text, parse_constant=_reject_constant)


async def _json_object(request: Request, decode: Callable[[str], Any]) -> dict[str, Any]:
    """The body as a JSON object: 415 unless declared JSON, 400 DeserializationError unless it is one."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        raise HTTPException(415, "The body must be JSON, sent with Content-Type: application/json.")
    body = await request.body()
    try:
        payload = decode(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _undecodable("The body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise _undecodable("The body must be a JSON object.")
    return payload


@answers(400, 415)
async def json_object(request: Request) -> dict[str, Any]:
    return await _json_object(request, _plain_json)


@answers(400, 415)
async def optional_json_object(request: Request) -> dict[str, Any]:
    """Like json_object, for a body that may be left out: none is {}."""
    if not await request.body():
        return {}
    return await _json_object(request, _plain_json)


@answers(400, 415)
async def exact_json_object(request: Request) -> dict[str, Any]:
    """Like json_object, with every non-integer number an exact Decimal: for bodies with amounts."""
    return await _json_object(request, decode_json)


JsonObject = Annotated[dict[str, Any], Depends(json_object)]
OptionalJsonObject = Annotated[dict[str, Any], Depends(optional_json_object)]
ExactJsonObject = Annotated[dict[str, Any], Depends(exact_json_object)]

"""The database from a request: where its reads run, the session of a route, and the pooled hot reads.

The dependencies are `async` and do their database reads through `in_database`: on SQLite the reads
run on the event loop itself. FastAPI runs a sync dependency in a thread, and those hand-offs, four
per request, capped a show at ~700 requests/s on two cores (SPEC §8). Writes stay in sync routes,
in threads: a write may wait on SQLite's lock, and the event loop must never wait.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, ParamSpec, TypeVar

from fastapi import Depends
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import PoolProxiedConnection
from starlette.concurrency import run_in_threadpool

from crowdexports.api.openapi import answers
from crowdexports.api.state import RuntimeDep
from crowdexports.database.hotsql import HotConnection
from crowdexports.runtime import Runtime

P = ParamSpec("P")
T = TypeVar("T")


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

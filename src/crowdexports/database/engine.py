"""Engine and session factory: SQLite gets the pragmas that make it a safe multi-process store,
PostgreSQL (psycopg 3) a pool sized for what one process uses at once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING_CONVENTION)

# Connections a process may open beyond the ones it was sized for (`make_engine`): a margin, so that a
# miscount makes a connection more, never a wait.
SPARE_CONNECTIONS = 10
# Fail fast when the server is down or unreachable, so the API answers 503 instead of hanging.
CONNECT_TIMEOUT_SECONDS = 5


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API read while a worker writes; busy_timeout turns lock contention into waiting.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def normalize_url(url: str) -> str:
    """`postgres://` and `postgresql://` (the usual forms, which SQLAlchemy maps to psycopg2) use psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def make_engine(url: str, connections: int = 10) -> Engine:
    """An engine whose pool keeps `connections` open: the most this process uses at once
    (`runtime.connections_needed`), so no request or export waits for one. SQLite opens more
    whenever needed (a file handle each); PostgreSQL up to SPARE_CONNECTIONS more (server processes:
    its max_connections must cover connections + SPARE_CONNECTIONS per process)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               **({} if url in ("sqlite://", "sqlite:///:memory:") else
                                  {"pool_size": connections, "max_overflow": -1}))
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    url = normalize_url(url)
    if url.startswith("postgresql+psycopg"):
        # pool_pre_ping: connections broken by a server restart are replaced, not handed to a request.
        return create_engine(url, pool_size=connections, max_overflow=SPARE_CONNECTIONS, pool_pre_ping=True,
                             connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS,
                                           "application_name": "crowdexports"})
    return create_engine(url, pool_pre_ping=True)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)

"""An export type's SELECT, streamed from the database as DBAPI rows, whatever the export type.

SQLAlchemy's result rows cost about a tenth of a csv export's time (`make bench`), and an export's
statement needs none of their work: its type converts the few values that need it (orders: only
created_at, see `models.UTCDateTime.from_driver`). On PostgreSQL the cursor is named, i.e.
server-side: psycopg would otherwise hold the whole result in memory. On SQLite a child process runs
the query (`exports/sqlite_reader.py`; `_sqlite_source` says when it can), so that the joins and the
row decoding run on another core; otherwise the session's connection's cursor steps through the query
as rows are fetched.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Compiled, Connection, Dialect
from sqlalchemy.orm import Session

from crowdexports.exports import sqlite_reader

STREAM_BATCH = 2000
# On SQLite, run the rows' query in a child process (exports/sqlite_reader.py: the wall-time reason);
# False reads them in this process, as on PostgreSQL.
SQLITE_ROWS_IN_CHILD = True


def stream_rows(session: Session, stmt: Select[Any]) -> Iterator[Sequence[Any]]:
    """The rows of `stmt` straight from a DBAPI cursor, streamed: values as the driver returns them."""
    connection = session.connection()
    sql, params = driver_statement(connection, stmt)
    dbapi_connection = connection.connection
    if connection.dialect.name == "sqlite" and SQLITE_ROWS_IN_CHILD and isinstance(params, tuple):
        source = _sqlite_source(dbapi_connection.driver_connection, params)
        if source is not None:
            database, busy_timeout_ms = source
            yield from sqlite_reader.read_rows(database, sql, params, busy_timeout_ms=busy_timeout_ms)
            return
    named = connection.dialect.name == "postgresql"
    cursor = dbapi_connection.cursor(name="export_rows") if named else dbapi_connection.cursor()
    try:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(STREAM_BATCH):
            yield from batch
    finally:
        cursor.close()


def driver_statement(connection: Connection, stmt: Select[Any]) -> tuple[str, Any]:
    """`stmt` as its driver runs it: the SQL, an IN list's values one parameter each, and the parameters
    (a tuple for a positional driver, else a dict), as SQLAlchemy's execute would bind them."""
    compiled = stmt.compile(connection, compile_kwargs={"render_postcompile": True})
    params = _driver_values(compiled, connection.dialect)
    if compiled.positional:
        return compiled.string, tuple(params[name] for name in compiled.positiontup or ())
    return compiled.string, params


def _driver_values(compiled: Compiled, dialect: Dialect) -> dict[str, Any]:
    """The parameters as the driver takes them: what SQLAlchemy's execute would bind, e.g. a filter's
    UTC instant as models.UTCDateTime stores it. An IN list's values (names not in `binds`, made by
    render_postcompile) are ids and texts, which need no processing on either driver."""
    params = dict(compiled.construct_params() or {})
    binds = compiled.binds  # type: ignore[attr-defined]  # SQLCompiler's; Compiled does not declare it
    for name, value in params.items():
        bind = binds.get(name)
        process = None if bind is None else bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            params[name] = process(value)
    return params


def _sqlite_source(driver_connection: Any, params: Sequence[object]) -> tuple[str, int] | None:
    """(main database file, busy timeout in ms) if a child process can read the same rows as this
    sqlite3 connection: a file, no write of ours pending (only this connection sees it), JSON-safe
    parameters; else None."""
    if driver_connection.in_transaction or not sqlite_reader.sendable(params):
        return None
    files = {name: file for _seq, name, file in driver_connection.execute("PRAGMA database_list")}
    if not files.get("main"):  # "": in memory, or a temporary database
        return None
    return str(files["main"]), int(driver_connection.execute("PRAGMA busy_timeout").fetchone()[0])

"""SQLAlchemy Core statements run on a DBAPI connection directly: the API's hottest reads.

Why: on this 2-core machine a show made with ORM queries took ~7 ms of CPU and with Core queries
~2.6 ms, most of it SQLAlchemy's execution machinery around a 25 µs SQLite query (py-spy under
`make bench-api`; SPEC §8 asks for 1,500 shows a second). The statements stay Core selects, so the
schema and both dialects stay SQLAlchemy's; only their execution is done here, with SQLAlchemy's
own bind and result processors, so values come out exactly as Core gives them
(tests/test_hotsql.py compares the two on both stacks).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.sql import Select
from sqlalchemy.types import TypeEngine

from crowdexports.models import UTCDateTime

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    param_names: tuple[str, ...]  # in the driver's positional order, or every name for a named paramstyle
    positional: bool
    defaults: dict[str, Any]  # values given in the statement itself (a LIMIT's)
    bind: tuple[Processor, ...]
    result: tuple[tuple[int, Callable[[Any], Any]], ...]  # (column index, processor), for the columns that have one


def _result_processor(type_: TypeEngine[Any], dialect: Dialect) -> Processor:
    """SQLAlchemy's result processor for the type, but for UTCDateTime its own driver conversion: one
    C call where the generic chain (a regex, then the decorator) cost a tenth of a list page."""
    if isinstance(type_, UTCDateTime):
        from_driver = UTCDateTime.from_driver
        return lambda value: None if value is None else from_driver(value)
    return type_.dialect_impl(dialect).result_processor(dialect, None)


class HotStatement:
    """A Core SELECT compiled once per dialect; `rows()` runs it and gives named tuples whose fields
    are the selected columns' names (or labels)."""

    def __init__(self, select: Select[Any]) -> None:
        self.select = select
        names = [column.name for column in select.selected_columns]
        # Field names known only at run time, which mypy's namedtuple support cannot follow.
        self.row_type = namedtuple("Row", names, rename=True)  # type: ignore[misc]
        self._compiled: dict[str, _Compiled] = {}

    def _compile(self, dialect: Dialect) -> _Compiled:
        # The compiler's binds and positiontup are SQLAlchemy internals (pinned; tests/test_private_apis.py).
        compiled = self.select.compile(dialect=dialect)
        positional = bool(compiled.positional)
        names = tuple(compiled.positiontup or ()) if positional else tuple(compiled.binds)
        bind = tuple(compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names)
        processors = (_result_processor(column.type, dialect) for column in self.select.selected_columns)
        result = tuple((index, process) for index, process in enumerate(processors) if process is not None)
        defaults = {name: compiled.binds[name].value for name in names if compiled.binds[name].value is not None}
        done = _Compiled(compiled.string, names, positional, defaults, bind, result)
        self._compiled[dialect.name] = done
        return done

    def rows(self, connection: DBAPIConnection, dialect: Dialect, params: Mapping[str, Any]) -> list[Any]:
        compiled = self._compiled.get(dialect.name) or self._compile(dialect)
        if compiled.defaults:
            params = {**compiled.defaults, **params}
        values = [params[name] if process is None else process(params[name])
                  for name, process in zip(compiled.param_names, compiled.bind, strict=True)]
        cursor = connection.cursor()
        try:
            cursor.execute(compiled.sql, values if compiled.positional else dict(zip(compiled.param_names, values,
                                                                                       strict=True)))
            fetched: Sequence[Sequence[Any]] = cursor.fetchall()
        finally:
            cursor.close()
        make, processors = self.row_type, compiled.result
        if not processors:
            return [make(*row) for row in fetched]
        rows = []
        for row in fetched:
            values = list(row)
            for index, process in processors:
                values[index] = process(values[index])
            rows.append(make(*values))
        return rows


class HotConnection:
    """Runs HotStatements on a DBAPI connection of `dialect`. The API's subclass takes one from the
    engine's pool at its first read (api/database.py `PooledReads`)."""

    __slots__ = ("_dbapi", "dialect")

    def __init__(self, dbapi: DBAPIConnection | None, dialect: Dialect) -> None:
        self._dbapi = dbapi
        self.dialect = dialect

    def dbapi(self) -> DBAPIConnection:
        assert self._dbapi is not None
        return self._dbapi

    def rows(self, statement: HotStatement, **params: Any) -> list[Any]:
        return statement.rows(self.dbapi(), self.dialect, params)

    def first(self, statement: HotStatement, **params: Any) -> Any | None:
        rows = statement.rows(self.dbapi(), self.dialect, params)
        return rows[0] if rows else None

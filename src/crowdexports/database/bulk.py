"""Rows as tuples straight to the database driver: the bulk writes of `seed` and of the order import."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.engine import Connection

from crowdexports.models import Base

if TYPE_CHECKING:
    import psycopg


class BulkInsert:
    """Rows as tuples straight to the driver, with SQLAlchemy's own per-type bind conversion.

    SQLite: executemany. Measured here: `session.execute(insert(table), dicts)` spends ~11 µs a row
    building parameters, this ~4 µs, which takes 200,000 orders (~1M rows) from ~33 s to ~20 s on
    this 2-core machine. PostgreSQL: COPY, which streams the rows in one statement per table.
    """

    def __init__(self, connection: Connection, model: type[Base], columns: Sequence[str]) -> None:
        table: Table = model.__table__
        dialect = connection.dialect
        self.connection = connection
        self.columns = columns
        processors = [table.c[name].type.bind_processor(dialect) for name in columns]
        self.converters = [(index, processor) for index, processor in enumerate(processors) if processor]
        self.copy = dialect.name == "postgresql"
        if self.copy:
            quote = dialect.identifier_preparer.quote
            self.sql = f"COPY {quote(table.name)} ({', '.join(map(quote, columns))}) FROM STDIN"
            return
        compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
        self.sql = str(compiled)
        if compiled.positional and list(compiled.positiontup or ()) != list(columns):
            raise RuntimeError(f"unexpected parameter order for {table.name}")  # never with a plain insert
        self.positional = compiled.positional

    def __call__(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.converters:
            rows = [self._convert(row) for row in rows]
        if self.copy:
            # SQLAlchemy types the driver's connection generically; with copy (PostgreSQL) it is psycopg's.
            driver = cast("psycopg.Connection[Any]", self.connection.connection.dbapi_connection)
            with driver.cursor() as cursor, cursor.copy(self.sql) as copy:
                for row in rows:
                    copy.write_row(row)
            return
        params: list[Any] = rows if self.positional else [dict(zip(self.columns, row, strict=True))
                                                          for row in rows]
        self.connection.exec_driver_sql(self.sql, params)

    def _convert(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        values = list(row)
        for index, processor in self.converters:
            values[index] = processor(values[index])
        return tuple(values)

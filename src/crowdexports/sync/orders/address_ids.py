"""Ids of the new address rows of an import, handed out a batch at a time, before the rows are written:
the orders written with them point at them. (Orders, users and items have theirs: the platform's, or
the database's.)"""

from __future__ import annotations

from sqlalchemy.engine import Connection


class AddressIds:
    """From PostgreSQL's sequence; on SQLite counted from max(id), which only holds under the import's
    write lock, taken at its start (importer): nobody else adds rows meanwhile. An INSERT … RETURNING
    cost 17 µs a row against 3 µs."""

    def __init__(self, connection: Connection, postgresql: bool) -> None:
        self.connection = connection
        self.postgresql = postgresql
        self.next_id: int | None = None  # SQLite only

    def take(self, count: int) -> list[int]:
        if not count:
            return []
        if self.postgresql:
            return list(self.connection.exec_driver_sql(
                "SELECT nextval(pg_get_serial_sequence('addresses', 'id')) FROM generate_series(1, %(count)s)",
                {"count": count}).scalars())
        if self.next_id is None:
            self.next_id = int(self.connection.exec_driver_sql(
                "SELECT COALESCE(MAX(id), 0) + 1 FROM addresses").scalar_one())
        first = self.next_id
        self.next_id += count
        return list(range(first, first + count))

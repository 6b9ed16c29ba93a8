"""An order import, all or nothing: its lines gathered into batches, each checked and written, in one
transaction committed only when every line is good. The one owner of an import's transaction, for the
API and the CLI alike."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crowdexports.errors import Conflict, FieldProblem, InvalidInput
from crowdexports.models import Project, Reward
from crowdexports.sync import jsonlines
from crowdexports.sync.orders.checks import check_batch
from crowdexports.sync.orders.line import OrderLine, Profile, parse_line
from crowdexports.sync.orders.outcome import ImportRefused, ImportResult
from crowdexports.sync.orders.reads import Reads
from crowdexports.sync.orders.writes import Writes

BATCH_LINES = 1000  # lines checked and written together: a few SELECTs and one write per table
PROGRESS_EVERY = 1000  # lines
# PostgreSQL: one import at a time; any 64-bit key no other code uses.
_PG_IMPORT_LOCK = 0x63726F7764_01


def import_orders(session: Session, project: Project, lines: Iterable[tuple[int, bytes | None]],
                  progress: Callable[[int], None] = lambda done: None) -> ImportResult:
    """Every line (numbered, as jsonlines reads them: None for one too long) checked and written in
    one transaction, committed only when all are good; otherwise rolled back, and ImportRefused names
    the problems. `progress` gets the number of lines read."""
    number = 0
    try:
        importer = OrderImport(session, project)
        for number, raw in lines:
            importer.add(raw, number)
            if number % PROGRESS_EVERY == 0:
                progress(number)
        result = importer.finish()
    except IntegrityError:  # a concurrent writer (PUT /v1/users) took an id or a username
        session.rollback()
        raise Conflict(f"line {number} collided with a concurrent change; nothing was imported") from None
    except BaseException:
        session.rollback()
        raise
    session.commit()
    progress(number)
    return result


class OrderImport:
    """One all-or-nothing import into one project, inside the session's transaction.

    `add` every line, then `finish`, which raises ImportRefused if a line was bad. Good lines are
    written as their batch is checked even after a bad one, so that later lines see the users and
    orders of earlier ones (and every bad line is found); the caller's rollback undoes it all.

    Imports run one at a time: on SQLite the write lock is taken at once (BEGIN IMMEDIATE), not at the
    first write, so the checks read the state the writes apply to and address ids can be counted from
    max(id); on PostgreSQL a transaction-scoped advisory lock, and address ids from their sequence.
    Readers are never blocked: an export reads the snapshot from before the import's commit.
    """

    def __init__(self, session: Session, project: Project) -> None:
        connection = session.connection()
        _lock(connection)
        self.project_id, self.currency = project.id, project.currency
        self.rewards = set(session.scalars(select(Reward.id).where(Reward.project_id == project.id)))
        self.reads = Reads(connection)
        self.result = ImportResult()
        self.writes = Writes(session, connection, self.reads, project.id, self.result)
        self.problems: list[FieldProblem] = []
        self.bad_lines = self.unlisted = 0
        self.batch: list[OrderLine] = []
        self.batch_orders: set[int] = set()
        self.batch_users: dict[int, Profile] = {}

    def add(self, raw: bytes | None, number: int) -> None:
        """Line `number` of the input; None for a line too long to read. Blank lines are skipped (line
        numbers count them)."""
        self.result.lines += 1
        if raw is not None and not raw.strip():
            self.result.blank_lines += 1
            return
        if raw is None:
            self._report([FieldProblem([f"line {number}"], f"is longer than {jsonlines.MAX_LINE_BYTES} bytes",
                                       "DeserializationError")])
            return
        try:
            line = parse_line(raw, number, self.project_id, self.currency)
        except InvalidInput as exc:
            self._report(exc.problems)
            return
        # A second line for an order or user of this batch applies after the first: a batch of its own.
        if line.id in self.batch_orders or line.user and self.batch_users.setdefault(*line.user) != line.user[1]:
            self._flush()
        self.batch.append(line)
        self.batch_orders.add(line.id)
        if line.user:
            self.batch_users[line.user[0]] = line.user[1]
        if len(self.batch) >= BATCH_LINES:
            self._flush()

    def finish(self) -> ImportResult:
        self._flush()
        lines = self.result.lines
        # In line order: a batch's checks against the database report after the lines read since.
        self.problems.sort(key=lambda problem: int(problem.field_names[0].removeprefix("line ")))
        if lines == self.result.blank_lines:
            self.problems.append(FieldProblem([], "has no order lines: send one JSON order per line",
                                              "DeserializationError"))
        elif self.unlisted:
            self.problems.append(FieldProblem([], f"{self.unlisted} more problems are not listed: {self.bad_lines} "
                                              f"of the {lines} lines are bad"))
        if self.problems:
            raise ImportRefused(self.problems, lines=lines, bad_lines=self.bad_lines)
        return self.result

    def _report(self, problems: list[FieldProblem]) -> None:
        """One bad line's problems."""
        self.bad_lines += 1
        room = max(0, jsonlines.MAX_PROBLEMS - len(self.problems))
        self.problems += problems[:room]
        self.unlisted += len(problems[room:])

    def _flush(self) -> None:
        lines, self.batch = self.batch, []
        self.batch_orders.clear()
        self.batch_users.clear()
        if lines:
            checked = check_batch(self.reads, lines, self.project_id, self.rewards)
            for problems in checked.problems:
                self._report(problems)
            self.writes.batch(checked)


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(%(key)s)", {"key": _PG_IMPORT_LOCK})
    # The driver's connection is None only once closed; sqlite3's has in_transaction.
    elif not connection.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
        connection.exec_driver_sql("BEGIN IMMEDIATE")

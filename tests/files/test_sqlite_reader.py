"""The SQLite row reader (exports/sqlite_reader.py): on SQLite a child process runs the rows' query.

Its rows must be exactly the in-process cursor's (seeded and torture data), its errors the same
sqlite3 exceptions, and it must never outlive the rows: not when they are closed early (a cancel, a
writer's error), nor when the parent is killed. The reader is SQLite's only, so this module uses a
SQLite file of its own whatever the stack.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Select
from sqlalchemy.orm import Session

from crowdexports.database.engine import make_engine, make_session_factory
from crowdexports.errors import ExportStopped
from crowdexports.exports import database_rows, lifecycle, pipeline, sqlite_reader
from crowdexports.exports.sqlite_reader import RowReaderError, read_rows
from crowdexports.exports.types.base import ExportContext, select_columns
from crowdexports.exports.types.orders import _SQL, ORDERS
from crowdexports.exports.writers import get_writer
from crowdexports.models import Base, Order, Project, User
from crowdexports.seed import seed_orders
from tests.factories import make_project, make_user
from tests.files.conftest import SEEDED_ORDERS
from tests.files.torture import NUL_SAMPLE, build_sub_second, build_torture

# Rows without end, to prove the child stops because the rows are closed, not because they ran out.
ENDLESS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i, ? FROM n"
READER_MODULE = "crowdexports.exports.sqlite_reader"


@dataclass
class Data:
    session: Session
    path: Path
    owner: User
    projects: list[Project]  # seeded, then the torture projects, then sub-second


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Data]:
    path = tmp_path_factory.mktemp("sqlite-reader") / "crowdexports.db"
    engine = make_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    with make_session_factory(engine)() as session:
        owner = make_user(session, "seeded-owner")
        seeded = make_project(session, owner, "Solar Kettle", currency="EUR", timezone="Europe/Paris", lang="fr")
        assert seed_orders(session, seeded.id, SEEDED_ORDERS, seed=11) == SEEDED_ORDERS
        projects = [seeded, *build_torture(session), build_sub_second(session)]
        session.commit()
        yield Data(session, path, owner, projects)
    engine.dispose()


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SQL each child reader was started for (database_rows calls the module's read_rows)."""
    started: list[str] = []
    real = sqlite_reader.read_rows

    def spy(database: str, sql: str, params: Sequence[Any], **options: Any) -> Iterator[tuple[Any, ...]]:
        started.append(sql)
        return real(database, sql, params, **options)

    monkeypatch.setattr(sqlite_reader, "read_rows", spy)
    return started


def _both(monkeypatch: pytest.MonkeyPatch, read: Callable[[], list[Any]]) -> tuple[list[Any], list[Any]]:
    """`read()` with the rows read by a child process, then in this process."""
    monkeypatch.setattr(database_rows, "SQLITE_ROWS_IN_CHILD", True)
    in_child = read()
    monkeypatch.setattr(database_rows, "SQLITE_ROWS_IN_CHILD", False)
    return in_child, read()


def _typed(values: Sequence[Any]) -> list[tuple[type, Any]]:
    return [(type(value), value) for value in values]  # 1 == 1.0 == True: compare the types too


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_export_rows_are_the_in_process_rows(data: Data, monkeypatch: pytest.MonkeyPatch, reads: list[str],
                                             lang: str) -> None:
    columns = select_columns(ORDERS.catalogue, None, lang)
    everything = []
    for project in data.projects:
        context = ExportContext(project.id, lang, project.lang, project.currency, ZoneInfo(project.timezone),
                                columns)

        def read(context: ExportContext = context) -> list[Any]:
            return list(map(_typed, ORDERS.rows(data.session, context)))

        in_child, in_process = _both(monkeypatch, read)
        assert in_child == in_process, project.name
        everything += in_child
    assert len(reads) == len(data.projects)  # every project's rows did come from a child
    assert len(everything) > SEEDED_ORDERS
    assert any(NUL_SAMPLE in str(value) for row in everything for _type, value in row)  # the torture data is in


def test_streamed_rows_are_the_cursor_rows_value_and_type(data: Data, monkeypatch: pytest.MonkeyPatch,
                                                          reads: list[str]) -> None:
    for project in data.projects:
        statement = ORDERS.statement(project.id, list(_SQL))

        def read(statement: Select[Any] = statement) -> list[Any]:
            return list(map(_typed, database_rows.stream_rows(data.session, statement)))

        in_child, in_process = _both(monkeypatch, read)
        assert in_child == in_process, project.name
        created_at = list(_SQL).index("order.created_at")
        assert {row[created_at][0] for row in in_child} == {str}  # ISO text, as models.UTCDateTime.from_driver expects
    assert len(reads) == len(data.projects)


def test_rows_are_read_in_process_when_a_child_could_not_see_them(data: Data, monkeypatch: pytest.MonkeyPatch,
                                                                  reads: list[str]) -> None:
    session, project = data.session, data.projects[0]
    monkeypatch.setattr(database_rows, "SQLITE_ROWS_IN_CHILD", True)
    columns = select_columns(ORDERS.catalogue, {"order.id": "ID"}, "en")
    context = ExportContext(project.id, "en", project.lang, "EUR", ZoneInfo(project.timezone), columns)
    before = list(ORDERS.rows(session, context))
    try:
        # A write of this session's, not yet committed: only its own connection sees it.
        order = Order(project_id=project.id, user_id=data.owner.id, created_at=datetime.now(UTC), status="new")
        session.add(order)
        session.flush()
        driver_connection = session.connection().connection.driver_connection
        assert driver_connection is not None and driver_connection.in_transaction
        during = list(ORDERS.rows(session, context))
    finally:
        session.rollback()
    assert sorted(during) == sorted([*before, (order.id,)])
    assert len(reads) == 1  # the first read only
    memory = make_engine("sqlite://")  # in memory: no file for a child to open
    Base.metadata.create_all(memory)
    with make_session_factory(memory)() as empty:
        assert list(ORDERS.rows(empty, context)) == []
    assert len(reads) == 1


# --- the child's lifetime ------------------------------------------------------------------------------------


def _readers(parent: int) -> list[int]:
    """Live (not zombie) row reader processes whose parent is `parent`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, ppid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
        if int(ppid) == parent and state != "Z" and READER_MODULE.encode() in command:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie (exited, waiting to be reaped by whoever adopted it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


@pytest.fixture
def database(tmp_path: Path) -> str:
    path = tmp_path / "small.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE t (i INTEGER)")
    return str(path)


def test_closing_the_rows_early_kills_and_reaps_the_child(database: str) -> None:
    rows = read_rows(database, ENDLESS, ["x" * 100])
    assert _readers(os.getpid()) == []  # nothing starts before the first row is asked for
    assert [next(rows) for _ in range(3)] == [(1, "x" * 100), (2, "x" * 100), (3, "x" * 100)]
    (reader,) = _readers(os.getpid())
    time.sleep(0.2)  # long enough to fill the pipe: the child is blocked writing
    rows.close()
    assert not Path(f"/proc/{reader}").exists()  # killed and waited for: not even a zombie


class DiskFull(OSError):
    pass


@pytest.mark.parametrize("how", ["canceled", "writer-error"])
def test_an_export_ended_early_stops_its_reader_at_once(data: Data, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        how: str) -> None:
    """build_file closes the rows when the write ends early (a cancel's ExportStopped from Progress.watch,
    a writer's error), rather than whenever the last reference to the generator goes: a writer's
    exception, held with its traceback, would keep it, and the reading child, alive."""
    monkeypatch.setattr(database_rows, "SQLITE_ROWS_IN_CHILD", True)
    monkeypatch.setattr(pipeline, "CHECK_EVERY_ROWS", 10)
    real, closed_early = sqlite_reader.read_rows, []

    def watched(*args: Any, **options: Any) -> Iterator[tuple[Any, ...]]:
        try:
            yield from real(*args, **options)
        except GeneratorExit:
            closed_early.append(_readers(os.getpid()))  # after the inner generator's close: reaped
            raise

    monkeypatch.setattr(sqlite_reader, "read_rows", watched)
    progress = pipeline.Progress()
    if how == "canceled":
        progress.stop.set()
    else:
        def failing_write(out: BinaryIO, columns: Any, rows: Iterable[Sequence[object]], info: Any,
                          options: Any = None) -> int:
            out.write(b"partial")
            for number, _row in enumerate(rows, 1):
                if number == 20:
                    raise DiskFull("no space left on device")
            raise AssertionError("the rows did not end early")

        monkeypatch.setattr(get_writer("csv"), "write", failing_write)
    session, project = data.session, data.projects[0]
    export = lifecycle.request(session, project=project, user=data.owner, type_="orders", format_="csv", columns=None)
    with pytest.raises(ExportStopped if how == "canceled" else DiskFull) as raised:
        pipeline.build_file(session, export, project, data.owner, tmp_path, progress)
    assert raised.traceback  # still held, with the frames that saw the rows
    assert closed_early == [[]]  # closed before build_file returned, its child killed and reaped
    assert _readers(os.getpid()) == [] and list(tmp_path.iterdir()) == []


def test_the_child_ignores_shutdown_signals_meant_for_the_worker(database: str) -> None:
    """Ctrl-C or systemd signal the whole process group: the worker decides, and hands the export back."""
    rows = read_rows(database, ENDLESS.replace("FROM n", "FROM n LIMIT 200000"), [None])
    assert next(rows) == (1, None)
    (reader,) = _readers(os.getpid())
    os.kill(reader, signal.SIGTERM)
    os.kill(reader, signal.SIGINT)
    assert sum(1 for _ in rows) == 199_999


_PARENT = f"""
import sys, time
from crowdexports.exports.sqlite_reader import read_rows
rows = read_rows(sys.argv[1], {ENDLESS!r}, ["x" * 100])
next(rows)
print("reading", flush=True)
time.sleep(300)
"""


def test_a_parent_killed_with_sigkill_leaves_no_reader_running(database: str) -> None:
    parent = subprocess.Popen([sys.executable, "-c", _PARENT, database], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None and parent.stdout.readline() == "reading\n"
        (reader,) = _readers(parent.pid)
        time.sleep(0.2)
        assert _alive(reader)  # blocked on the full pipe: the rows never end by themselves
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 10
    while _alive(reader) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(reader)  # EPIPE on its next write: gone (or a zombie for its new parent to reap)


# --- errors --------------------------------------------------------------------------------------------------


def _locked(tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (i INTEGER)")  # rollback journal: an exclusive lock keeps readers out
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO t VALUES (1)")
    try:
        yield str(path)
    finally:
        holder.close()


def _corrupt(tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"not a database at all " * 1000)
    yield str(path)


def _plain(tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "plain.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE t (i INTEGER)")
    yield str(path)


ERRORS = [  # (database, SQL, the exception and message of both paths)
    (_locked, "SELECT * FROM t", sqlite3.OperationalError, "database is locked"),
    (_corrupt, "SELECT * FROM t", sqlite3.DatabaseError, "file is not a database"),
    (_plain, "SELECT * FROM nope", sqlite3.OperationalError, "no such table: nope"),
    (_plain, "SELECT * FROM t WHERE i = ? AND i = ?", sqlite3.ProgrammingError,
     "Incorrect number of bindings supplied. The current statement uses 2, and there are 1 supplied."),
]


@pytest.mark.parametrize(("make", "sql", "error", "message"), ERRORS, ids=["locked", "corrupt", "sql", "bindings"])
def test_an_error_in_the_child_is_raised_as_the_in_process_error(
        tmp_path: Path, make: Callable[[Path], Iterator[str]], sql: str, error: type[sqlite3.Error],
        message: str) -> None:
    params = [1] if "?" in sql else []
    for database in make(tmp_path):
        with pytest.raises(error) as in_process:
            sqlite3.connect(database, timeout=0).execute(sql, params).fetchall()
        with pytest.raises(error) as in_child:
            list(read_rows(database, sql, params, busy_timeout_ms=0))
    assert type(in_child.value) is type(in_process.value)
    assert str(in_child.value) == str(in_process.value) == message
    assert getattr(in_child.value, "sqlite_errorname", None) == getattr(in_process.value, "sqlite_errorname", None)
    assert _readers(os.getpid()) == []


def test_rows_before_an_error_arrive_then_the_error(database: str) -> None:
    overflow = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 3000) "
                "SELECT CASE WHEN i <= 1500 THEN i ELSE abs(?) END FROM n")
    received, fetched = [], []
    with pytest.raises(sqlite3.OperationalError, match="integer overflow"):
        for row in read_rows(database, overflow, [-(2**63)], batch_rows=100):
            received.append(row)
    cursor = sqlite3.connect(database).execute(overflow, [-(2**63)])
    with pytest.raises(sqlite3.OperationalError, match="integer overflow"):
        while batch := cursor.fetchmany(100):  # sqlite3 steps a row ahead: batch 15 fails on row 1501
            fetched += batch
    assert received == fetched == [(i,) for i in range(1, 1401)]


def test_a_missing_file_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(sqlite3.OperationalError, match="unable to open database file"):
        list(read_rows(str(tmp_path / "missing.db"), "SELECT 1", []))
    assert list(tmp_path.iterdir()) == []


def test_a_child_that_dies_is_an_error_not_the_end_of_the_rows(database: str) -> None:
    rows = read_rows(database, ENDLESS, [None])
    next(rows)
    (reader,) = _readers(os.getpid())
    os.kill(reader, signal.SIGKILL)
    with pytest.raises(RowReaderError, match="killed by signal 9 before the end of the rows"):
        for _ in rows:
            pass
    assert not Path(f"/proc/{reader}").exists()

"""A SQLite query's rows, read in a child process while this one types and writes them.

Why: an export is single-threaded Python, and on SQLite about a third of a csv export's time was the
query itself: the joins and the row decoding, in C, in the same thread as the per-row Python. A
reader *thread* does not help: sqlite3 releases the GIL on every row step, and the consumer holding
the GIL makes it wait ~5 ms each time (a convoy; measured and abandoned). A child process runs the
query on another core instead: at 200,000 orders the csv export went from 2.5-3.5x to 1.6-2.2x the
`sqlite3 -csv` dump, in back-to-back pairs on an otherwise idle 2-core machine (`make bench`;
docs/capacity.md). It costs CPU rather than saving it (pickling and a pipe: 2-5 s more in all at
200,000 orders) and ~20 MiB (the child's own, flat): the gain is wall time only, and only while a
core is idle. PostgreSQL needs none of this: its server already runs the query in its own process.

Protocol. The parent starts `python -m crowdexports.exports.sqlite_reader` (a new interpreter, not a
fork: the worker has threads) and writes one JSON request to its stdin: the database file, the SQL
and its positional parameters, the busy timeout and the batch size. The child uses the standard
library only (it starts in a few tens of milliseconds), runs the SQL as ONE statement, i.e. in one
read transaction, one consistent snapshot (WAL), as the in-process cursor did, and writes frames to
stdout, each a 5-byte header (kind, payload length) then the payload:
- ROWS: a pickled list of up to `batch_rows` row tuples, values as sqlite3 returns them (so
  `created_at` stays SQLAlchemy's ISO text, see `models.UTCDateTime.from_driver`);
- DONE: the statement ended; empty;
- FAILED: JSON of the exception that stopped it. A sqlite3 error is raised in the parent as the
  same sqlite3 class with the child's message, error code and name, as the in-process cursor would
  have raised it; anything else, or a child that ends without DONE, as `RowReaderError`.

Lifetime and memory:
- Memory is bounded: the child blocks on the pipe (widened to 1 MiB on Linux) when the parent falls
  behind; at most a batch on each side and the pipe's content are in flight.
- Closing the generator early (a cancel's ExportStopped, a writer's error) kills and reaps the child.
- A parent that dies, even by SIGKILL, closes the pipe's only read end (the pipe is close-on-exec and
  the worker never forks): the child's next write fails with EPIPE (Python ignores SIGPIPE, hence a
  BrokenPipeError) and it exits, after at most the time to its next batch (a busy timeout, or the
  sort before the first row, included).
- The child ignores SIGINT and SIGTERM: a shutdown signal sent to the whole process group (Ctrl-C,
  systemd) is for the worker, which stops the export, hands it back and closes the generator.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import sqlite3
import struct
import subprocess
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the child imports as little as it can: it starts once per export
    from collections.abc import Generator, Iterator, Sequence
    from typing import IO, Any, TypeAlias

    Param: TypeAlias = int | float | str | None

BATCH_ROWS = 500  # per frame: ~200 KB of pickle for the orders export's 40 columns
PIPE_BYTES = 1 << 20  # Linux's default /proc/sys/fs/pipe-max-size; unprivileged processes may ask for it
_HEADER = struct.Struct("<cI")
ROWS, DONE, FAILED = b"R", b"D", b"F"
_SQLITE_ERRORS: dict[str, type[sqlite3.Error]] = {cls.__name__: cls for cls in (
    sqlite3.Error, sqlite3.InterfaceError, sqlite3.DatabaseError, sqlite3.DataError,
    sqlite3.OperationalError, sqlite3.IntegrityError, sqlite3.InternalError, sqlite3.ProgrammingError,
    sqlite3.NotSupportedError)}


class RowReaderError(RuntimeError):
    """The child failed for a reason that is not a sqlite3 error (it crashed, was killed, …)."""


def sendable(params: Sequence[object]) -> bool:
    """Whether `params` survive the JSON request unchanged (bytes, dates, … do not: read in-process)."""
    return all(param is None or type(param) in (int, float, str) for param in params)


def read_rows(database: str, sql: str, params: Sequence[Param], *, busy_timeout_ms: int = 30_000,
              batch_rows: int = BATCH_ROWS) -> Generator[tuple[Any, ...], None, None]:
    """The rows of `sql` on the SQLite file `database`, read by a child process; started on the first
    `next()`, stopped when the rows end or the generator is closed."""
    request = json.dumps({"database": database, "sql": sql, "params": list(params),
                          "busy_timeout_ms": busy_timeout_ms, "batch_rows": batch_rows}).encode()
    process = subprocess.Popen([sys.executable, "-P", "-m", __name__], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, env=_child_environment())
    try:
        stdin, stdout = process.stdin, process.stdout
        assert stdin is not None and stdout is not None
        _widen_pipe(stdout)
        try:
            with stdin:
                stdin.write(request)
        except BrokenPipeError:
            raise _died(process) from None
        yield from _received(process, stdout)
    finally:
        if process.poll() is None:
            process.kill()  # closed early: the child may be blocked on a full pipe
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _received(process: subprocess.Popen[bytes], stdout: IO[bytes]) -> Iterator[tuple[Any, ...]]:
    read, unpack, header_size, loads = stdout.read, _HEADER.unpack, _HEADER.size, pickle.loads
    while True:
        header = read(header_size)
        if len(header) < header_size:
            raise _died(process)
        kind, length = unpack(header)
        payload = read(length)
        if len(payload) < length:
            raise _died(process)
        if kind == ROWS:
            yield from loads(payload)
        elif kind == DONE:
            return
        else:
            raise _failure(json.loads(payload))


def _child_environment() -> dict[str, str]:
    """This process's environment, with the directory this package was imported from first on the path:
    the child runs the same code, installed or not (`-P`: not whatever the working directory holds)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{path}" if path else root}


def _widen_pipe(stdout: IO[bytes]) -> None:
    """A larger pipe lets the child run a few batches ahead; best effort (Linux only, per-user limits)."""
    try:
        import fcntl

        fcntl.fcntl(stdout.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, AttributeError, OSError):
        pass


def _died(process: subprocess.Popen[bytes]) -> RowReaderError:
    code = process.wait()
    how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
    return RowReaderError(f"the SQLite row reader {how} before the end of the rows")


def _failure(failure: dict[str, Any]) -> Exception:
    """The child's exception as the parent raises it: the same sqlite3 class, else RowReaderError."""
    cls = _SQLITE_ERRORS.get(failure["type"])
    if cls is None:
        return RowReaderError(f"the SQLite row reader failed: {failure['type']}: {failure['message']}")
    error = cls(failure["message"])
    if failure.get("code") is not None:
        error.sqlite_errorcode = failure["code"]
        error.sqlite_errorname = failure["name"]
    return error


# --- the child ------------------------------------------------------------------------------------------------


def _send(kind: bytes, payload: bytes) -> None:
    for part in (_HEADER.pack(kind, len(payload)), payload):
        view = memoryview(part)
        while view:
            view = view[os.write(1, view):]


def _serve() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        request = json.loads(sys.stdin.buffer.read())
        # mode=rw: never create a missing file; query_only: this process only reads.
        uri = "file:" + request["database"].replace("%", "%25").replace("?", "%3f").replace("#", "%23")
        connection = sqlite3.connect(uri + "?mode=rw", uri=True, timeout=request["busy_timeout_ms"] / 1000,
                                     isolation_level=None)
        connection.execute("PRAGMA query_only = ON")
        cursor = connection.execute(request["sql"], request["params"])
        batch_rows, dumps, protocol = request["batch_rows"], pickle.dumps, pickle.HIGHEST_PROTOCOL
        while batch := cursor.fetchmany(batch_rows):
            _send(ROWS, dumps(batch, protocol))
        _send(DONE, b"")
    except BrokenPipeError:  # the parent closed the rows or died: nobody is reading
        return 0
    except Exception as error:
        failure = {"type": type(error).__name__, "message": str(error),
                   "code": getattr(error, "sqlite_errorcode", None), "name": getattr(error, "sqlite_errorname", None)}
        try:
            _send(FAILED, json.dumps(failure).encode())
        except BrokenPipeError:
            pass
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_serve())

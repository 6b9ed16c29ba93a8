"""A JSON-lines file of users, projects or rewards, upserted in one transaction (SPEC §7's CLI import).

Each line is a PUT body plus its `id`. The file is read a line at a time and the session is emptied as
it goes, so memory stays flat whatever the file's size; every bad line is reported, with its number
as the first field name (`["line 12", "email"]`), and one bad line means nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crowdexports.errors import Conflict, FieldProblem, InvalidInput
from crowdexports.rules.decoding import decode_json
from crowdexports.sync.records import Upserted, take_id

MAX_LINE_BYTES = 16 * 1024 * 1024  # a longer line is reported, and read past without being held
MAX_PROBLEMS = 1000  # reported at most; bad lines are all counted
EXPUNGE_EVERY = 1000  # lines between two emptyings of the session (its rows are flushed) and progress reports
BOM = b"\xef\xbb\xbf"

Upsert = Callable[[Session, int, object, list[str]], Upserted]


@dataclass
class Outcome:
    lines: int = 0  # lines read, as numbered (blank ones included)
    blank_lines: int = 0
    created: int = 0
    updated: int = 0  # rows that were there and changed
    unchanged: int = 0  # rows that were there as the line says
    bad_lines: int = 0
    problems: list[FieldProblem] = field(default_factory=list)


def count_lines(handle: BinaryIO) -> int:
    """Lines in the file, read in chunks (a line may be huge); the handle is left at the start."""
    count, last = 0, b"\n"
    for chunk in iter(lambda: handle.read(1 << 20), b""):
        count, last = count + chunk.count(b"\n"), chunk[-1:]
    handle.seek(0)
    return count + (last != b"\n")


def numbered_lines(handle: BinaryIO) -> Iterator[tuple[int, bytes | None]]:
    """(line number, line) from 1; None for a line longer than MAX_LINE_BYTES."""
    number = 0
    while line := handle.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while (rest := handle.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                pass
            yield number, None
        else:
            yield number, line.removeprefix(BOM) if number == 1 else line


def _upsert_line(session: Session, upsert: Upsert, line: bytes | None, path: list[str]) -> Upserted:
    """One line's record upserted; InvalidInput for a line that is not one."""
    if line is None:
        raise InvalidInput([FieldProblem(path, f"is longer than {MAX_LINE_BYTES} bytes", "DeserializationError")])
    try:
        body = decode_json(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput([FieldProblem(path, "is not JSON in UTF-8", "DeserializationError")]) from None
    if not isinstance(body, dict):
        raise InvalidInput([FieldProblem(path, "must be a JSON object", "DeserializationError")])
    return upsert(session, take_id(body, path), body, path)


def import_lines(session: Session, handle: BinaryIO, upsert: Upsert,
                 progress: Callable[[int], None] = lambda done: None) -> Outcome:
    """Upsert every record of the file, then commit, or roll back if any line is bad. Blank lines are
    skipped (they still count in line numbers). `progress` gets the number of lines read."""
    outcome = Outcome()
    number = 0
    try:
        for number, line in numbered_lines(handle):
            if number % EXPUNGE_EVERY == 0:
                session.expunge_all()
                progress(number)
            outcome.lines += 1
            if line is not None and not line.strip():
                outcome.blank_lines += 1
                continue
            try:
                upserted = _upsert_line(session, upsert, line, [f"line {number}"])
            except InvalidInput as exc:
                outcome.bad_lines += 1
                outcome.problems.extend(exc.problems[:MAX_PROBLEMS - len(outcome.problems)])
                continue
            if upserted is Upserted.CREATED:
                outcome.created += 1
            elif upserted is Upserted.UPDATED:
                outcome.updated += 1
            else:
                outcome.unchanged += 1
        progress(number)
    except IntegrityError:  # a concurrent writer took an id or a username between check and write
        session.rollback()
        raise Conflict(f"line {number} collided with a concurrent change; nothing was imported") from None
    if outcome.bad_lines:
        session.rollback()
    else:
        session.commit()
    return outcome

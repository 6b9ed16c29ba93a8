"""An export running while an import rewrites the same orders sees each import request whole or not at
all (SPEC §7: "an export reads one consistent snapshot of the orders, even while a sync is writing").

A thread imports the same 2,000 orders again and again over HTTP, each request with its own note on
every order ("import 3"), and alternately one item and a shipping address per order, or two items and
none: a request replaces every order's items and adds or deletes 2,000 addresses. Meanwhile real csv
exports run back to back, and each file read back must hold one request's state exactly: every order,
one note, and as many rows as that request's items.

Why it holds: an import is one transaction (`sync.orders.importer.import_orders` commits once, at the
end), and an export's rows come from ONE SELECT (`exports/types/orders.py`), which reads one snapshot:
- SQLite (WAL): a statement that is stepping holds a read mark on the WAL for its whole life, so it
  sees the database as of its first step; the importer's commit appends to the WAL beyond that mark.
- PostgreSQL: the rows come through a server-side (named) cursor, whose query runs under the snapshot
  taken when it is declared (READ COMMITTED: one snapshot per statement), however long it is fetched.

The control runs the same exports against an importer that commits every 250 lines (the real import
function, called per chunk): it must see a half-applied import, or the harness proves nothing.
"""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from crowdexports.exports.writers import get_writer
from crowdexports.models import Project
from crowdexports.sync import jsonlines
from crowdexports.sync.orders.importer import import_orders
from tests.api.conftest import Account
from tests.api.order_lines import address, answer, item, ndjson, order, post_import
from tests.factories import make_reward
from tests.files.expect import write_with

ORDERS = 2000
IMPORTS = 4
COLUMNS = {"order.id": "id", "order.note": "note", "order.reward.id": "reward"}


class Seen(NamedTuple):
    started: float  # time.monotonic() when the export began
    notes: tuple[str, ...]
    whole: bool  # exactly one request's state: every order, its one note, its number of items


def request_bodies(reward_id: int, user_id: int) -> Callable[[int], bytes]:
    """The body of request n: its note everywhere; odd requests have two items and no shipping address."""
    templates = [ndjson(*(order(number, user_id=user_id, note="@NOTE@", items=[item(reward_id)] * (1 + parity),
                                shipping_address=None if parity else address()) for number in range(1, ORDERS + 1)))
                 for parity in (0, 1)]
    return lambda request: templates[request % 2].replace(b"@NOTE@", f"import {request}".encode())


def export_until(stop: threading.Event, sessions: sessionmaker[Session], project: Project, out: Path,
                 seen: list[Seen]) -> None:
    """Real csv exports, back to back until `stop`, each read back into `seen`."""
    path = out / "orders.csv"
    while not stop.is_set():
        started = time.monotonic()
        with sessions() as session:
            write_with(get_writer("csv"), session, project, path, requested=COLUMNS)
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))[1:]
        notes = tuple(sorted({note for _id, note, _reward in rows}))
        request = int(notes[0].split()[1]) if len(notes) == 1 else 0
        whole = (len(notes) == 1 and len(rows) == ORDERS * (1 + request % 2)
                 and {int(order_id) for order_id, _note, _reward in rows} == set(range(1, ORDERS + 1)))
        seen.append(Seen(started, notes, whole))


def alongside_exports(sessions: sessionmaker[Session], project: Project, out: Path,
                      imports: Callable[[list[Seen]], None]) -> list[Seen]:
    """`imports(seen)` in a thread while this one exports; what the exports saw."""
    seen: list[Seen] = []
    stop = threading.Event()
    failure: list[BaseException] = []

    def importer() -> None:
        try:
            imports(seen)
        except BaseException as exc:  # re-raised below, in the test's thread
            failure.append(exc)
        finally:
            stop.set()

    thread = threading.Thread(target=importer)
    thread.start()
    try:
        export_until(stop, sessions, project, out, seen)
    finally:
        stop.set()
        thread.join()
    if failure:
        raise failure[0]
    return seen


def test_an_export_sees_each_import_request_whole_or_not_at_all(
        client: TestClient, session: Session, session_factory: sessionmaker[Session], staff: Account,
        project_a: Project, tmp_path: Path) -> None:
    reward_id = make_reward(session, project_a).id
    body = request_bodies(reward_id, staff.user.id)
    assert answer(post_import(client, staff, project_a.id, body(0)))["orders"]["created"] == ORDERS
    spans: list[tuple[float, float]] = []

    def imports(seen: list[Seen]) -> None:
        for request in range(1, IMPORTS + 1):
            started = time.monotonic()
            assert answer(post_import(client, staff, project_a.id, body(request)))["orders"]["updated"] == ORDERS
            spans.append((started, time.monotonic()))

    seen = alongside_exports(session_factory, project_a, tmp_path, imports)
    assert all(state.whole for state in seen), [state for state in seen if not state.whole][:3]
    during = [state for state in seen if any(start < state.started < end for start, end in spans)]
    assert len(during) >= IMPORTS, f"only {len(during)} of {len(seen)} exports started while an import ran"
    assert len({state.notes for state in seen}) >= 3, "the exports saw too few requests to prove anything"


def test_the_harness_catches_an_import_committed_in_pieces(
        session: Session, session_factory: sessionmaker[Session], staff: Account, project_a: Project,
        tmp_path: Path) -> None:
    body = request_bodies(make_reward(session, project_a).id, staff.user.id)

    def import_in_pieces(request: int) -> None:
        lines = list(jsonlines.numbered_lines(io.BytesIO(body(request))))
        for start in range(0, ORDERS, 250):
            with session_factory() as piece:
                import_orders(piece, piece.get_one(Project, project_a.id), lines[start:start + 250])

    import_in_pieces(0)

    def imports(seen: list[Seen]) -> None:
        for request in range(1, 31):
            import_in_pieces(request)
            if any(not state.whole for state in seen):
                return

    seen = alongside_exports(session_factory, project_a, tmp_path, imports)
    assert any(not state.whole for state in seen), f"{len(seen)} exports, none saw a half-applied import"

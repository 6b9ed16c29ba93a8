"""The orders export end to end (type registry -> rows -> writers -> files), checked cell by cell
against expectations computed independently from the ORM objects (see expect.py)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crowdexports.errors import InvalidInput
from crowdexports.exports import database_rows, lifecycle, pipeline, sqlite_reader
from crowdexports.exports.status_words import status_cell
from crowdexports.exports.types import EXPORT_TYPES, get_type
from crowdexports.exports.types.base import ColumnKind, ExportContext, select_columns
from crowdexports.exports.types.orders import html_to_text
from crowdexports.exports.writers import WRITERS, get_writer
from crowdexports.models import Order, OrderItem, User
from tests.conftest import STACK
from tests.factories import make_order, make_project, make_reward, make_user
from tests.files.conftest import SEEDED_ORDERS, Seeded
from tests.files.expect import check_files, expected_rows, read_csv, read_openpyxl, write_both

SPEC_COLUMNS = [
    "order.id", "user.username", "user.lang", "user.full_name", "user.email",
    "shipping_address.first_name", "shipping_address.last_name", "shipping_address.entity_name",
    "shipping_address.address_1", "shipping_address.address_2", "shipping_address.postal_code",
    "shipping_address.city", "shipping_address.state", "shipping_address.country",
    "billing_address.first_name", "billing_address.last_name", "billing_address.entity_name",
    "billing_address.type", "billing_address.address_1", "billing_address.address_2",
    "billing_address.postal_code", "billing_address.city", "billing_address.state",
    "billing_address.country", "order.reward.id", "order.reward.description", "order.reward.price",
    "order.reward.quantity", "order.reward.total", "order.total", "order.tracking.source",
    "order.tracking.medium", "order.payment_method", "order.status", "order.created_at", "order.note",
]
ORDERS = get_type("orders")


def test_catalogue_starts_with_the_spec_columns_in_order() -> None:
    ids = [column.id for column in ORDERS.catalogue]
    assert ids[:36] == SPEC_COLUMNS
    assert len(set(ids)) == len(ids)
    kinds = {column.id: column.kind for column in ORDERS.catalogue}
    assert {kinds["order.id"], kinds["order.reward.id"], kinds["order.reward.quantity"]} == \
        {ColumnKind.INTEGER}
    assert {kinds["shipping_address.postal_code"], kinds["billing_address.postal_code"]} == \
        {ColumnKind.IDENTIFIER}
    assert {kinds["order.reward.price"], kinds["order.reward.total"], kinds["order.total"]} == \
        {ColumnKind.MONEY}
    assert kinds["order.created_at"] is ColumnKind.DATETIME
    special = {"order.id", "order.reward.id", "order.reward.quantity", "shipping_address.postal_code",
               "billing_address.postal_code", "order.reward.price", "order.reward.total", "order.total",
               "order.created_at"}
    assert {kinds[i] for i in SPEC_COLUMNS if i not in special} == {ColumnKind.TEXT}
    for lang in ("en", "fr"):
        headers = [column.headers[lang] for column in ORDERS.catalogue]
        assert all(headers) and len(set(headers)) == len(headers), lang


def test_default_headers_follow_the_recipient_language() -> None:
    assert select_columns(ORDERS.catalogue, None, "en")[0].header == "Order ID"
    assert select_columns(ORDERS.catalogue, None, "fr")[0].header == "N° de commande"
    assert select_columns(ORDERS.catalogue, None, "ja")[0].header == "Order ID"  # English otherwise


@pytest.mark.parametrize(("lang", "requested", "expected"), [
    ("en", None, "Order date (America/New_York)"), ("fr", None, "Date de commande (America/New_York)"),
    ("en", {"order.id": "Order", "order.created_at": "When"}, "When"),  # a header the owner wrote stays theirs
])
def test_the_files_date_header_names_the_projects_zone(session: Session, tmp_path: Path, lang: str,
                                                       requested: dict[str, str] | None, expected: str) -> None:
    """Through the pipeline, as a worker makes the file: the zone the cells are in is the project's."""
    owner = make_user(session, lang=lang)
    project = make_project(session, owner, timezone="America/New_York")
    make_order(session, project, owner, [], created_at=datetime(2026, 7, 1, 3, 30, tzinfo=UTC))
    export = lifecycle.request(session, project=project, user=owner, type_="orders", format_="csv", columns=requested)
    built = pipeline.build_file(session, export, project, owner, tmp_path, pipeline.Progress())
    header, row = read_csv(built.path)
    column = header.index(expected)
    assert row[column] == "2026-06-30 23:30:00"  # New York's summer time, 4 hours behind UTC
    assert "Europe/Paris" not in ",".join(header)


def test_an_unknown_status_is_shown_as_its_code() -> None:
    assert status_cell("fr")("payment-done") == "Paiement effectué"
    assert status_cell("ja")("cancelled") == "Cancelled"  # English for a language without words
    assert status_cell("en")("on-hold") == "on-hold" and status_cell("en")(None) is None


def test_registries_name_their_choices() -> None:
    assert EXPORT_TYPES == {"orders": ORDERS}
    assert set(WRITERS) == {"csv", "xlsx"}
    assert get_writer("csv").mime_type.startswith("text/csv")
    assert get_writer("xlsx").extension == "xlsx"
    with pytest.raises(InvalidInput) as error:
        get_type("invoices")
    assert error.value.problems[0].field_names == ["type"] and "orders" in error.value.problems[0].message
    with pytest.raises(InvalidInput) as error:
        get_writer("ods")
    assert error.value.problems[0].field_names == ["format"]
    assert error.value.problems[0].message == "must be one of: csv, xlsx"


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_seeded_export_matches_the_database(seeded: Seeded, tmp_path: Path, lang: str) -> None:
    session, project = seeded.session, seeded.project
    expected = expected_rows(session, project, lang)
    items = session.scalar(select(func.count()).select_from(OrderItem).join(Order)
                           .where(Order.project_id == project.id))
    itemless = session.scalar(select(func.count()).select_from(Order).where(
        Order.project_id == project.id, ~select(OrderItem.id).where(OrderItem.order_id == Order.id).exists()))
    assert itemless and items and len(expected) == items + itemless
    context = ExportContext(project.id, lang, project.lang, "EUR", ZoneInfo(project.timezone), [])
    assert ORDERS.estimate_rows(session, context) == len(expected)
    # The seed's data must exercise what is checked: leading zeros, itemless rows, several items.
    assert any((row["billing_address.postal_code"] or "").startswith("0") for row in expected)
    assert any(row["order.reward.id"] is None for row in expected)
    assert any(a["order.id"] == b["order.id"] for a, b in zip(expected, expected[1:], strict=False))
    assert any(row["order.note"].startswith(("=", "+", "-", "@")) for row in expected)

    written = write_both(session, project, tmp_path, lang=lang)
    check_files(written, expected, project.currency)


@pytest.mark.parametrize("layout", ["orders", "items_repeated", "items"])
def test_each_layout_writes_the_rows_the_database_gives(seeded: Seeded, tmp_path: Path, layout: str) -> None:
    """Every cell of every row, in each layout, against the oracle's own rendering of the layout."""
    session, project = seeded.session, seeded.project
    expected = expected_rows(session, project, "en", layout)
    written = write_both(session, project, tmp_path, layout=layout)
    ids = [column.id for column in written.columns]
    orders = session.scalar(select(func.count()).select_from(Order).where(Order.project_id == project.id))
    if layout == "orders":
        assert len(expected) == orders and "order.reward.price" not in ids
        kinds = {column.id: column.kind for column in written.columns}
        assert {kinds[column_id] for column_id in ("order.reward.id", "order.reward.title",
                                                   "order.reward.description")} == {ColumnKind.TEXT}
        assert any(", " in (row["order.reward.id"] or "") for row in expected)  # an order of several items
    context = ExportContext(project.id, "en", project.lang, "EUR", ZoneInfo(project.timezone), [],
                            ORDERS.parse_options({"layout": layout}))
    assert ORDERS.estimate_rows(session, context) == len(expected)
    check_files(written, expected, project.currency)


def test_requested_columns_are_renamed_and_ordered(seeded: Seeded, tmp_path: Path) -> None:
    requested = {"order.note": "Remarque", "billing_address.postal_code": "=CP", "order.id": "ID",
                 "order.total": "Total TTC", "order.created_at": "Quand", "order.currency": "Devise"}
    written = write_both(seeded.session, seeded.project, tmp_path, requested=requested)
    assert [(c.id, c.header) for c in written.columns] == list(requested.items())
    check_files(written, expected_rows(seeded.session, seeded.project, "en"), "EUR")
    assert read_csv(written.csv)[0][1] == "'=CP"  # a header is text like any other


@pytest.mark.skipif(STACK != "embedded", reason="counts statements with sqlite3's trace hook; on PostgreSQL "
                                                 "the server-side cursor test below sees the one cursor")
@pytest.mark.parametrize("in_child", [True, False], ids=["child-process", "in-process"])
def test_rows_come_from_one_streamed_query_whatever_the_row_count(seeded: Seeded, monkeypatch: pytest.MonkeyPatch,
                                                                   in_child: bool) -> None:
    session, project = seeded.session, seeded.project
    columns = select_columns(ORDERS.catalogue, None, "en")
    context = ExportContext(project.id, "en", project.lang, "EUR", ZoneInfo(project.timezone), columns)
    statements: list[str] = []
    # On SQLite the rows' SELECT runs in a child process (exports/sqlite_reader.py): what it is asked to run
    # is recorded here; the switch sends it back to the session's connection.
    monkeypatch.setattr(database_rows, "SQLITE_ROWS_IN_CHILD", in_child)
    in_child_reader = sqlite_reader.read_rows

    def read_rows(database: str, sql: str, params: Sequence[Any], **options: Any) -> Iterator[tuple[Any, ...]]:
        statements.append(sql)
        return in_child_reader(database, sql, params, **options)

    monkeypatch.setattr(sqlite_reader, "read_rows", read_rows)
    # The rows are read from a DBAPI cursor, below SQLAlchemy's events: trace the sqlite3 connection.
    driver_connection = session.connection().connection.driver_connection
    assert driver_connection is not None
    driver_connection.set_trace_callback(statements.append)
    try:
        rows = ORDERS.rows(session, context)
        assert statements == []  # lazy: nothing runs before the first row is asked for
        count = sum(1 for _ in rows)
    finally:
        driver_connection.set_trace_callback(None)
    assert count > 300
    # The project's rewards (titles, descriptions) once, then the one SELECT of all rows.
    selects = [statement for statement in statements if statement.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2 and "rewards" in selects[0] and "order_items" in selects[1]


_RACE = """
import sys, threading, warnings
sys.setswitchinterval(1e-6)  # switch threads as often as possible
warnings.simplefilter("error")
from crowdexports.exports.types.orders import ORDERS, _SQL
barrier, froms = threading.Barrier(32), []
def build():
    barrier.wait()
    froms.append(len(ORDERS.statement(1, list(_SQL)).get_final_froms()))
threads = [threading.Thread(target=build) for _ in range(32)]
for thread in threads: thread.start()
for thread in threads: thread.join()
assert froms == [1] * 32, froms
"""


def test_threads_building_their_first_statement_at_once_get_one_join_tree() -> None:
    """A worker's export threads build the SELECT at the same moment; lazily adapted ORM aliases once
    lost that race to the plain `addresses` table, a cartesian product. Only a process's first use can
    race, hence fresh processes; a race is caught about half the time, correct code never fails."""
    runs = [subprocess.Popen([sys.executable, "-c", _RACE], stderr=subprocess.PIPE, text=True) for _ in range(6)]
    for run in runs:
        _, stderr = run.communicate(timeout=60)
        assert run.returncode == 0, stderr[-2000:]


@pytest.mark.skipif(STACK != "scaleout", reason="PostgreSQL's server-side cursors; SQLite's cursor is lazy by itself")
def test_rows_come_through_a_server_side_cursor_on_postgresql(seeded: Seeded) -> None:
    """psycopg holds a whole result in memory unless the cursor is named: memory would grow with the project."""
    session, project = seeded.session, seeded.project
    columns = select_columns(ORDERS.catalogue, None, "en")
    context = ExportContext(project.id, "en", project.lang, "EUR", ZoneInfo(project.timezone), columns)

    def open_cursors() -> list[str]:
        return list(session.connection().exec_driver_sql("SELECT name FROM pg_cursors").scalars())

    rows = ORDERS.rows(session, context)
    next(rows)
    assert len(open_cursors()) == 1
    assert sum(1 for _ in rows) >= SEEDED_ORDERS - 1
    assert open_cursors() == []  # closed once the rows are read
    session.rollback()


DST_INSTANTS = [  # UTC instant -> Europe/Paris wall-clock time
    (datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC), datetime(2026, 3, 29, 1, 59, 59)),
    (datetime(2026, 3, 29, 1, 0, 0, tzinfo=UTC), datetime(2026, 3, 29, 3, 0, 0)),  # clocks jump 2:00 -> 3:00
    (datetime(2026, 10, 25, 0, 30, 0, tzinfo=UTC), datetime(2026, 10, 25, 2, 30, 0)),  # first 2:30 (CEST)
    (datetime(2026, 10, 25, 1, 30, 0, tzinfo=UTC), datetime(2026, 10, 25, 2, 30, 0)),  # second 2:30 (CET)
    (datetime(2026, 7, 14, 22, 15, 0, tzinfo=UTC), datetime(2026, 7, 15, 0, 15, 0)),  # next day locally
]


def test_hand_made_project_dates_money_and_empty_cells(session: Session, tmp_path: Path) -> None:
    owner = make_user(session, lang="fr")
    backer = make_user(session, "ada")
    project = make_project(session, owner, "Bouilloire Solaire", currency="EUR", timezone="Europe/Paris")
    cheap = make_reward(session, project, price=10, title="Ten cents")
    cheaper = make_reward(session, project, price=20, title="Twenty cents")
    ids = []
    for number, (instant, _local) in enumerate(DST_INSTANTS):
        items = [(cheap, 1), (cheaper, 1)] if number % 2 else [(cheap, 3)]
        order = make_order(session, project, backer, items, created_at=instant,
                           postal_code="01234" if number == 1 else "75001")
        ids.append(order.id)
    # An order without items nor shipping address, and a refund with a negative total.
    tip = make_order(session, project, backer, [], created_at=datetime(2026, 5, 1, tzinfo=UTC))
    tip.total = tip.subtotal = 500
    tip.shipping_address_id = None
    refund = make_order(session, project, backer, [(cheap, 1)], created_at=datetime(2026, 5, 2, tzinfo=UTC))
    refund.total = -1050
    session.commit()

    expected = expected_rows(session, project, "fr")
    written = write_both(session, project, tmp_path, lang="fr")
    check_files(written, expected, "EUR")

    rows = read_csv(written.csv)
    header = rows[0]
    col = {column.id: header.index(column.header) for column in written.columns}
    by_order: dict[int, list[list[str]]] = {}
    for row in rows[1:]:
        by_order.setdefault(int(row[col["order.id"]]), []).append(row)
    for order_id, (_instant, local) in zip(ids, DST_INSTANTS, strict=True):
        assert by_order[order_id][0][col["order.created_at"]] == local.strftime("%Y-%m-%d %H:%M:%S")
    assert by_order[ids[1]][0][col["order.total"]] == "0.30"  # 10 + 20 cents, no 0.30000000000000004
    assert by_order[ids[1]][0][col["shipping_address.postal_code"]] == "01234"
    assert by_order[ids[0]][0][col["order.reward.total"]] == "0.30"
    (tip_row,) = by_order[tip.id]
    assert tip_row[col["order.total"]] == "5.00"
    assert [tip_row[col[c]] for c in ("order.reward.id", "order.reward.description", "order.reward.price",
                                      "order.reward.quantity", "order.reward.total",
                                      "shipping_address.city")] == [""] * 6
    assert by_order[refund.id][0][col["order.total"]] == "-10.50"  # a number, not "'-10.50"
    (sheet,) = read_openpyxl(written.xlsx).values()
    refund_cell = next(r for r in sheet if r[0].value == refund.id)[col["order.total"]]
    assert refund_cell.data_type == "n" and refund_cell.value == -10.5


@pytest.mark.parametrize(("currency", "price", "text"), [("JPY", 1500, "1500"), ("KWD", 12345, "12.345")])
def test_money_uses_the_currency_decimals(session: Session, tmp_path: Path, currency: str, price: int,
                                          text: str) -> None:
    owner = make_user(session)
    project = make_project(session, owner, "Tokyo Kettle", currency=currency, timezone="Asia/Tokyo")
    reward = make_reward(session, project, price=price)
    make_order(session, project, owner, [(reward, 2)], created_at=datetime(2026, 1, 1, 15, 0, tzinfo=UTC))
    written = write_both(session, project, tmp_path)
    check_files(written, expected_rows(session, project, "en"), currency)
    header, row = read_csv(written.csv)
    assert row[header.index("Reward price")] == text
    assert row[header.index("Order date")] == "2026-01-02 00:00:00"  # UTC+9


def test_reward_text_language_fallback_and_html(session: Session, tmp_path: Path) -> None:
    owner = make_user(session)
    project = make_project(session, owner, "Kettle", lang="de")
    reward = make_reward(session, project)
    reward.description = {"es": "<p>Hola</p>", "de": "<p>Hallo &amp; <b>Welt</b></p><script>x()</script>"
                                                     "<ul><li>eins</li><li>zwei &lt;3</li></ul>"}
    reward.title = {"it": "Ciao"}
    session.commit()
    make_order(session, project, owner, [(reward, 1)], created_at=datetime(2026, 1, 1, tzinfo=UTC))
    written = write_both(session, project, tmp_path, lang="fr",
                         requested={"order.reward.description": "d", "order.reward.title": "t"})
    assert read_csv(written.csv)[1] == ["Hallo & Welt\neins\nzwei <3", "Ciao"]  # fr -> project's de -> any


def test_html_to_text() -> None:
    assert html_to_text("<p>Early <b>bird</b> &eacute;dition&nbsp;!</p><p>Second<br>line</p>") == \
        "Early bird édition !\nSecond\nline"
    assert html_to_text("plain text, 2 < 3") == "plain text, 2 < 3"
    assert html_to_text("<style>p{color:red}</style>  spaced   out  ") == "spaced out"
    assert html_to_text("") == ""


def test_reward_of_another_project_is_still_described(session: Session, tmp_path: Path) -> None:
    owner = make_user(session)
    project = make_project(session, owner, "Here")
    elsewhere = make_reward(session, make_project(session, owner, "Elsewhere"), title="Foreign")
    make_order(session, project, owner, [(elsewhere, 1)], created_at=datetime(2026, 1, 1, tzinfo=UTC))
    written = write_both(session, project, tmp_path, requested={"order.reward.title": "t"})
    assert read_csv(written.csv)[1] == ["Foreign"]


def test_export_of_a_project_without_orders_has_only_the_header(session: Session, tmp_path: Path) -> None:
    owner = make_user(session)
    project = make_project(session, owner, "Empty")
    written = write_both(session, project, tmp_path)
    assert written.row_count == {"csv": 0, "xlsx": 0}
    assert len(read_csv(written.csv)) == 1
    (sheet,) = read_openpyxl(written.xlsx).values()
    assert len(sheet) == 1 and sheet[0][0].value == "Order ID"
    context = ExportContext(project.id, "en", project.lang, "EUR", ZoneInfo(project.timezone), [])
    assert ORDERS.estimate_rows(session, context) == 0


def test_full_name_falls_back_to_first_and_last(session: Session, tmp_path: Path) -> None:
    owner = make_user(session)
    project = make_project(session, owner, "Names")
    backer = User(username="nameless", email="n@example.com", first_name="Grace", last_name="Hopper", name="")
    session.add(backer)
    session.commit()
    make_order(session, project, backer, [], created_at=datetime(2026, 1, 1, tzinfo=UTC))
    make_order(session, project, owner, [], created_at=datetime(2026, 1, 2, tzinfo=UTC))
    written = write_both(session, project, tmp_path, requested={"user.full_name": "n"})
    assert [row[0] for row in read_csv(written.csv)[1:]] == ["Grace Hopper", owner.name]


def test_money_cells_are_decimals_in_rows(seeded: Seeded) -> None:
    project = seeded.project
    columns = select_columns(ORDERS.catalogue, {"order.total": "t", "order.reward.price": "p"}, "en")
    context = ExportContext(project.id, "en", project.lang, "EUR", ZoneInfo("Europe/Paris"), columns)
    values = [value for row in ORDERS.rows(seeded.session, context) for value in row if value is not None]
    assert values and all(type(value) is Decimal and value.as_tuple().exponent == -2 for value in values)


"""The `csv_dialect` option: validated with the other fields, stored, shown, and obeyed by the worker.

The end-to-end cases run the real worker function (`run_export`) on the export the API created, then
download the file through its signed link and read it back with the `csv` module.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from crowdexports.api.schemas import ExportOut
from crowdexports.auth import accounts
from crowdexports.exports.runner import Outcome, RunningExports, run_export
from crowdexports.models import Export, Order, OrderItem, Project
from crowdexports.runtime import Runtime
from tests.api.conftest import Account, request_export
from tests.factories import make_order, make_reward
from tests.servers.s3 import fetch

DIALECTS = "must be one of: rfc4180, excel_eu"


def post(client: TestClient, project: Project, account: Account, body: dict[str, object]) -> dict[str, object]:
    response = client.post(f"/v1/projects/{project.id}/exports", json=body, headers=account.bearer)
    assert response.status_code == 201, response.text
    ExportOut.model_validate(response.json())
    created: dict[str, object] = response.json()
    return created


@pytest.mark.parametrize(("body", "shown"), [
    ({"format": "csv"}, "rfc4180"),
    ({"format": "csv", "csv_dialect": None}, "rfc4180"),
    ({"format": "csv", "csv_dialect": "rfc4180"}, "rfc4180"),
    ({"format": "csv", "csv_dialect": "excel_eu"}, "excel_eu"),
    ({"format": "xlsx"}, None),
    ({"format": "xlsx", "csv_dialect": None}, None),
])
def test_the_dialect_is_stored_and_shown(client: TestClient, session: Session, project_a: Project, alice: Account,
                                         body: dict[str, object], shown: str | None) -> None:
    created = post(client, project_a, alice, {"type": "orders", **body})
    assert created["csv_dialect"] == shown
    stored = session.get_one(Export, created["id"]).options
    assert stored == {"format": {"dialect": shown} if shown else {}, "type": {"filters": {}, "layout": "items"}}
    assert client.get(f"/v1/exports/{created['id']}", headers=alice.bearer).json()["csv_dialect"] == shown
    listed = client.get(f"/v1/projects/{project_a.id}/exports", headers=alice.bearer).json()["exports"]
    assert [export["csv_dialect"] for export in listed] == [shown]


BAD = [
    # (case, extra fields, expected errors as (classification, fieldNames, message))
    ("unknown", {"csv_dialect": "excel"}, [("ValueError", ["csv_dialect"], DIALECTS)]),
    ("wrong case", {"csv_dialect": "EXCEL_EU"}, [("ValueError", ["csv_dialect"], DIALECTS)]),
    ("empty", {"csv_dialect": ""}, [("ValueError", ["csv_dialect"], DIALECTS)]),
    ("number", {"csv_dialect": 1}, [("TypeError", ["csv_dialect"], "must be a string")]),
    ("list", {"csv_dialect": ["excel_eu"]}, [("TypeError", ["csv_dialect"], "must be a string")]),
    ("boolean", {"csv_dialect": True}, [("TypeError", ["csv_dialect"], "must be a string")]),
    ("with xlsx", {"format": "xlsx", "csv_dialect": "excel_eu"},
     [("ValueError", ["csv_dialect"], "only applies to csv exports")]),
    ("default with xlsx", {"format": "xlsx", "csv_dialect": "rfc4180"},
     [("ValueError", ["csv_dialect"], "only applies to csv exports")]),
    ("bad format too", {"format": "pdf", "csv_dialect": "tsv"},
     [("ValueError", ["format"], "must be one of: csv, xlsx"), ("ValueError", ["csv_dialect"], DIALECTS)]),
]


@pytest.mark.parametrize(("extra", "expected"), [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_dialects_get_the_error_envelope(client: TestClient, session: Session, project_a: Project,
                                            alice: Account, dispatched: list[int], extra: dict[str, object],
                                            expected: list[tuple[str, list[str], str]]) -> None:
    response = client.post(f"/v1/projects/{project_a.id}/exports", headers=alice.bearer,
                           json={"format": "csv", "type": "orders", **extra})
    assert response.status_code == 400, response.text
    assert response.json() == {"errors": [
        {"classification": classification, "fieldNames": names, "message": message}
        for classification, names, message in expected]}
    assert session.scalar(select(func.count()).select_from(Export)) == 0 and dispatched == []


def test_a_csv_row_without_a_dialect_reads_as_rfc4180(client: TestClient, session: Session, project_a: Project,
                                                      alice: Account) -> None:
    """What a process of the previous release writes during a rolling deploy (the migration backfills
    older rows: tests/test_database.py)."""
    export = request_export(session, project_a, alice.user)
    session.execute(update(Export).where(Export.id == export.id).values(options=None))
    session.commit()
    assert client.get(f"/v1/exports/{export.id}", headers=alice.bearer).json()["csv_dialect"] == "rfc4180"


# --- the file ----------------------------------------------------------------------------------

NOTE = 'net; VAT 20,5 % "incl."'
COLUMNS = {"order.id": "Id", "order.note": "Note", "order.reward.price": "Price", "order.reward.quantity": "Qty",
           "order.reward.total": "Line", "order.total": "Total", "order.created_at": "Date"}
MONEY = ("Price", "Line", "Total")
# currency -> (decimals, reward price in minor units, that price as excel_eu writes it)
CURRENCIES = {"EUR": (2, 123456, "1234,56"), "JPY": (0, 1500000, "1500000"), "KWD": (3, 1234567, "1234,567")}


def _made_file(client: TestClient, runtime: Runtime, project: Project, account: Account,
               dialect: str) -> tuple[str, dict[str, object]]:
    """Ask for a csv export over the API, let the real worker function make it, download it."""
    created = post(client, project, account, {"format": "csv", "type": "orders", "columns": COLUMNS,
                                              "csv_dialect": dialect})
    assert run_export(runtime, RunningExports(), int(str(created["id"]))) is Outcome.SUCCEEDED
    body = client.get(f"/v1/exports/{created['id']}", headers=account.bearer).json()
    assert body["status"] == "succeeded" and body["csv_dialect"] == dialect
    download = fetch(client, str(body["url"]).removeprefix("http://testserver"))
    assert download.status_code == 200
    content = download.content
    assert content.startswith(b"\xef\xbb\xbf") and content.endswith(b"\r\n")
    return content.decode("utf-8-sig"), body


@pytest.mark.parametrize("currency", list(CURRENCIES))
def test_excel_eu_file_has_semicolons_and_decimal_commas_that_equal_the_database(
        client: TestClient, session: Session, runtime: Runtime, alice: Account, currency: str) -> None:
    decimals, price, price_text = CURRENCIES[currency]
    project = accounts.create_project(session, owner=alice.user, name=f"Kettle {currency}", currency=currency,
                                      timezone="UTC")
    reward = make_reward(session, project, price=price)
    make_order(session, project, alice.user, [(reward, 2)], created_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
               note=NOTE)
    make_order(session, project, alice.user, [(reward, 1)], created_at=datetime(2026, 3, 2, tzinfo=UTC),
               note="=HYPERLINK(1)")
    refund = make_order(session, project, alice.user, [(reward, 1)], created_at=datetime(2026, 3, 3, tzinfo=UTC))
    refund.total = -price - 7
    session.commit()

    text, body = _made_file(client, runtime, project, alice, "excel_eu")
    header, *rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert header == list(COLUMNS.values()) and len(rows) == body["row_count"] == 3
    assert all(len(row) == len(header) for row in rows)
    cells = [dict(zip(header, row, strict=True)) for row in rows]

    stored = {order_id: (unit, line, total) for order_id, unit, line, total in session.execute(
        select(Order.id, OrderItem.unit_price, OrderItem.line_total, Order.total)
        .join(OrderItem, OrderItem.order_id == Order.id).where(Order.project_id == project.id))}
    scale = Decimal(10) ** decimals
    for cell in cells:
        expected = [Decimal(minor) / scale for minor in stored[int(cell["Id"])]]
        assert [Decimal(cell[name].replace(",", ".")) for name in MONEY] == expected
        assert all("." not in cell[name] for name in MONEY)
        assert ("," in cell["Total"]) is (decimals > 0)
    assert cells[0]["Price"] == price_text
    assert cells[0]["Date"] == "2026-03-01 09:30:00" and cells[0]["Qty"] == "2"  # unchanged by the dialect
    assert cells[0]["Note"] == NOTE  # read back whole: its `;` was quoted
    assert f'"{NOTE.replace(chr(34), chr(34) * 2)}"' in text
    assert cells[1]["Note"] == "'=HYPERLINK(1)"  # neutralised as in rfc4180
    assert cells[2]["Total"].startswith("-")


def test_rfc4180_through_the_same_path_keeps_commas_and_points(client: TestClient, session: Session,
                                                               runtime: Runtime, project_a: Project,
                                                               alice: Account) -> None:
    reward = make_reward(session, project_a, price=123456)
    make_order(session, project_a, alice.user, [(reward, 1)], created_at=datetime(2026, 3, 1, tzinfo=UTC),
               note=NOTE)
    text, _ = _made_file(client, runtime, project_a, alice, "rfc4180")
    header, row = list(csv.reader(io.StringIO(text, newline="")))
    assert dict(zip(header, row, strict=True))["Price"] == "1234.56"
    assert text.splitlines()[0] == ",".join(COLUMNS.values())

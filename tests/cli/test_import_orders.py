"""`crowdexports import orders --project ID FILE`, in-process (Typer's runner), on the selected stack's
database: the API's format and rules, one transaction for the whole file, a summary, --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from crowdexports.auth import accounts
from crowdexports.cli.main import app
from crowdexports.config import Settings
from crowdexports.models import Order, OrderItem, Project, User
from tests.api.order_lines import counts, item, ndjson, order
from tests.conftest import stack_env
from tests.factories import make_reward, make_user


@pytest.fixture
def cli(settings: Settings) -> CliRunner:
    return CliRunner(env={"CROWDEXPORTS_DATA_DIR": str(settings.data_dir),
                          "CROWDEXPORTS_SECRET_KEY": "test-secret-key-0123456789abcdef", **stack_env(settings)})


@pytest.fixture
def project(session: Session) -> Project:
    return accounts.create_project(session, owner=make_user(session, "owner"), name="Kettle", currency="KWD")


def test_a_file_is_imported_and_imported_again_without_change(cli: CliRunner, session: Session, project: Project,
                                                              tmp_path: Path) -> None:
    kettle = make_reward(session, project)
    lines = [order(number, items=[item(kettle.id, 2, "1.005")], order_total="2.010", order_subtotal="2.01",
                   order_shipping_total=0) for number in range(1, 2501)]
    path = tmp_path / "orders.ndjson"
    path.write_bytes(b"\xef\xbb\xbf" + ndjson(*lines))  # a byte-order mark, as some editors write

    result = cli.invoke(app, ["import", "orders", "--project", str(project.id), str(path), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["orders"] == {"created": 2500, "updated": 0, "unchanged": 0} and summary["lines"] == 2500
    assert summary["users"] == {"created": 7, "updated": 0, "unchanged": 2493}  # order(n) embeds one of 7 backers
    assert summary["lines_per_second"] > 0
    session.expire_all()
    assert counts(session) == {"orders": 2500, "order_items": 2500, "addresses": 5000, "users": 1 + 7}
    assert session.get_one(Order, 2500).total == 2010
    assert session.scalar(select(OrderItem.line_total).where(OrderItem.order_id == 2500)) == 2010

    again = cli.invoke(app, ["import", "orders", "--project", str(project.id), str(path)])
    assert again.exit_code == 0, again.output
    assert "orders: 0 created, 0 updated, 2500 unchanged; users: 0 created, 0 updated, 2500 unchanged" in again.stdout
    assert "lines/s" in again.stdout
    session.expire_all()
    assert counts(session) == {"orders": 2500, "order_items": 2500, "addresses": 5000, "users": 1 + 7}


def test_one_bad_line_in_a_large_file_imports_nothing(cli: CliRunner, session: Session, project: Project,
                                                      tmp_path: Path) -> None:
    kettle = make_reward(session, project)
    lines: list[object] = [order(number, items=[item(kettle.id, unit_price="1.000")]) for number in range(1, 3001)]
    lines[2499] = order(2500, items=[item(kettle.id, 0, "1.000")])  # after two batches were written
    lines[2999] = "not json"
    path = tmp_path / "orders.ndjson"
    path.write_bytes(ndjson(*lines))
    before = counts(session)

    result = cli.invoke(app, ["import", "orders", "--project", str(project.id), str(path)])
    assert result.exit_code == 1
    assert "line 2500, items.0.quantity: must be from 1 to" in result.output
    assert "line 3000: is not JSON" in result.output
    assert "nothing imported: 2 bad line(s) of 3000" in result.output and "Traceback" not in result.output
    session.expire_all()
    assert counts(session) == before  # the 2,998 good lines were rolled back with the bad ones
    assert session.get(User, 1001) is None

    as_json = cli.invoke(app, ["import", "orders", "--project", str(project.id), str(path), "--json"])
    report = json.loads(as_json.stdout.strip().splitlines()[0])
    assert as_json.exit_code == 1 and report["bad_lines"] == 2
    assert [error["fieldNames"] for error in report["errors"]] == [["line 2500", "items", "0", "quantity"],
                                                                   ["line 3000"]]


def test_an_unknown_project_is_a_one_line_error(cli: CliRunner, session: Session, tmp_path: Path) -> None:
    path = tmp_path / "orders.ndjson"
    path.write_bytes(ndjson(order(1)))
    result = cli.invoke(app, ["import", "orders", "--project", "987654", str(path)])
    assert result.exit_code == 1 and "project 987654 does not exist" in result.output
    assert "Traceback" not in result.output

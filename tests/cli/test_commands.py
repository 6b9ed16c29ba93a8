"""The `crowdexports` command in-process (Typer's runner), against the selected stack's real database."""

from __future__ import annotations

import csv
import hashlib
from decimal import Decimal
from pathlib import Path

import openpyxl
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from crowdexports.auth.credentials import hash_token
from crowdexports.cli.main import app
from crowdexports.config import Settings
from crowdexports.database.engine import make_engine, make_session_factory
from crowdexports.models import ApiKey, OAuthClient, Order, Project, User
from tests.cli.conftest import run_json


def _sessions(settings: Settings) -> sessionmaker[Session]:
    return make_session_factory(make_engine(settings.resolved_database_url))


def test_create_commands_print_json_and_store_only_hashes(cli: CliRunner, settings: Settings) -> None:
    assert cli.invoke(app, ["migrate"]).exit_code == 0
    user = run_json(cli, "users", "create", "--username", "zoé", "--email", "zoe@example.com", "--password",
                    "s3cret-pass", "--lang", "fr")
    staff = run_json(cli, "users", "create", "--username", "root", "--email", "root@example.com", "--password",
                     "s3cret-pass", "--staff")
    key = run_json(cli, "apikeys", "create", "--username", "zoé")
    client = run_json(cli, "clients", "create", "--name", "bookkeeping")
    project = run_json(cli, "projects", "create", "--owner", "zoé", "--name", "Été à Tokyo", "--currency", "JPY",
                       "--timezone", "Asia/Tokyo")
    assert user["lang"] == "fr" and staff["is_staff"] is True
    assert project["currency"] == "JPY" and project["timezone"] == "Asia/Tokyo"
    with _sessions(settings)() as session:
        stored_key = session.query(ApiKey).one()
        stored_client = session.query(OAuthClient).one()
        owner = session.query(User).filter_by(username="zoé").one()
        assert stored_key.key_hash == hash_token(str(key["api_key"])) and stored_key.user_id == owner.id
        assert stored_client.client_id == client["client_id"]
        assert stored_client.secret_hash != client["client_secret"]
        assert owner.password_hash and "s3cret-pass" not in owner.password_hash
        assert session.get_one(Project, project["id"]).owner_id == owner.id


def test_domain_errors_are_one_line_not_a_traceback(cli: CliRunner) -> None:
    assert cli.invoke(app, ["migrate"]).exit_code == 0
    missing_owner = cli.invoke(app, ["projects", "create", "--owner", "nobody", "--name", "X"])
    assert missing_owner.exit_code == 1 and "Traceback" not in missing_owner.output
    run_json(cli, "users", "create", "--username", "ann", "--email", "ann@example.com", "--password", "pw-pw-pw-pw")
    bad_zone = cli.invoke(app, ["projects", "create", "--owner", "ann", "--name", "X", "--timezone", "Nowhere/City"])
    assert bad_zone.exit_code == 1 and "error" in bad_zone.output and "Traceback" not in bad_zone.output


def test_seed_then_export_run_in_both_formats(cli: CliRunner, settings: Settings, tmp_path: Path) -> None:
    assert cli.invoke(app, ["migrate"]).exit_code == 0
    run_json(cli, "users", "create", "--username", "ann", "--email", "ann@example.com", "--password", "pw-pw-pw-pw")
    project = run_json(cli, "projects", "create", "--owner", "ann", "--name", "Kettle")
    seeded = run_json(cli, "orders", "seed", "--project", str(project["id"]), "--count", "120", "--seed", "4")
    assert seeded["orders"] == 120
    with _sessions(settings)() as session:
        assert session.query(Order).filter_by(project_id=project["id"]).count() == 120

    out_csv, out_xlsx = tmp_path / "orders.csv", tmp_path / "orders.xlsx"
    made_csv = run_json(cli, "exports", "run", "--project", str(project["id"]), "--format", "csv",
                        "--out", str(out_csv), "--columns", '{"order.id": "Order", "order.total": "Paid"}')
    with out_csv.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["Order", "Paid"] and len(rows) - 1 == made_csv["rows"] >= 120
    out_eu = tmp_path / "orders-eu.csv"
    run_json(cli, "exports", "run", "--project", str(project["id"]), "--format", "csv", "--out", str(out_eu),
             "--columns", '{"order.id": "Order", "order.total": "Paid"}', "--csv-dialect", "excel_eu")
    with out_eu.open(encoding="utf-8-sig", newline="") as handle:
        eu_rows = list(csv.reader(handle, delimiter=";"))
    assert eu_rows == [[order, paid.replace(".", ",")] for order, paid in rows]
    made_xlsx = run_json(cli, "exports", "run", "--project", str(project["id"]), "--format", "xlsx", "--out",
                         str(out_xlsx))
    sheet = openpyxl.load_workbook(out_xlsx, read_only=True).worksheets[0]
    assert sum(1 for _ in sheet.iter_rows()) - 1 == made_xlsx["rows"] == made_csv["rows"]
    for made, out in ((made_csv, out_csv), (made_xlsx, out_xlsx)):  # computed while written, checked on the file
        assert made["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert not list(out_xlsx.parent.glob("*.part"))


def test_export_run_rejects_bad_requests_clearly(cli: CliRunner) -> None:
    assert cli.invoke(app, ["migrate"]).exit_code == 0
    run_json(cli, "users", "create", "--username", "ann", "--email", "ann@example.com", "--password", "pw-pw-pw-pw")
    project = run_json(cli, "projects", "create", "--owner", "ann", "--name", "Kettle")
    for extra in (["--format", "pdf"], ["--format", "csv", "--columns", "{"],
                  ["--format", "csv", "--columns", '{"nope": "x"}'], ["--format", "csv", "--csv-dialect", "tsv"],
                  ["--format", "xlsx", "--csv-dialect", "excel_eu"]):
        result = cli.invoke(app, ["exports", "run", "--project", str(project["id"]), "--out", "x.csv", *extra])
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert cli.invoke(app, ["exports", "run", "--project", "999", "--format", "csv", "--out", "x"]).exit_code == 1


def test_export_run_prints_the_control_totals_of_the_file(cli: CliRunner, tmp_path: Path) -> None:
    assert cli.invoke(app, ["migrate"]).exit_code == 0
    run_json(cli, "users", "create", "--username", "ann", "--email", "ann@example.com", "--password", "pw-pw-pw-pw")
    project = str(run_json(cli, "projects", "create", "--owner", "ann", "--name", "Kettle")["id"])
    run_json(cli, "orders", "seed", "--project", project, "--count", "60", "--seed", "4")
    out_csv, out_xlsx = tmp_path / "orders.csv", tmp_path / "orders.xlsx"
    columns = '{"order.id": "Order", "order.total": "Paid", "order.status_code": "Status", "order.reward.id": "Reward"}'
    made = run_json(cli, "exports", "run", "--project", project, "--format", "csv", "--out", str(out_csv),
                    "--columns", columns)
    with out_csv.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    paid = {row["Order"]: Decimal(row["Paid"]) for row in rows if row["Paid"]}  # on an order's first row
    [summary] = made["summary"]
    assert (summary["orders"], summary["items"], Decimal(summary["total"])) == (
        len(paid), sum(1 for row in rows if row["Reward"]), sum(paid.values()))
    assert [s["status"] for s in summary["by_status"]] == sorted({row["Status"] for row in rows})
    assert run_json(cli, "exports", "run", "--project", project, "--format", "xlsx", "--out",
                    str(out_xlsx))["summary"] == made["summary"]
    assert openpyxl.load_workbook(out_xlsx, read_only=True).sheetnames[-1] == "Summary"
    text = cli.invoke(app, ["exports", "run", "--project", project, "--format", "csv", "--out", str(out_csv)]).output
    assert f"totals {summary['orders']} orders, {summary['items']} items, orders' total " in text

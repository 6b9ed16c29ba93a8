"""Filters from the command line (issue 15): `exports run --filters` writes only the rows they keep;
`exports create` queues an export as the API does, its filters checked the same way, within the same
cap, for the project's owner only."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from typer.testing import CliRunner

from crowdexports.cli.main import app
from crowdexports.config import Settings
from crowdexports.database.engine import make_engine, make_session_factory
from crowdexports.models import Export, Order
from crowdexports.worker.queue import make_huey
from tests.cli.conftest import run_json

SOME_STATUSES = {"status": ["cancelled", "payment-done"]}


def _project(cli: CliRunner, orders: int = 0) -> dict[str, Any]:
    assert cli.invoke(app, ["migrate"]).exit_code == 0
    run_json(cli, "users", "create", "--username", "ann", "--email", "ann@example.com", "--password", "pw-pw-pw-pw")
    run_json(cli, "users", "create", "--username", "bob", "--email", "bob@example.com", "--password", "pw-pw-pw-pw")
    project = run_json(cli, "projects", "create", "--owner", "ann", "--name", "Kettle")
    if orders:
        run_json(cli, "orders", "seed", "--project", str(project["id"]), "--count", str(orders), "--seed", "9")
    return project


def test_export_run_keeps_only_the_filtered_rows(cli: CliRunner, settings: Settings, tmp_path: Path) -> None:
    project = _project(cli, orders=150)
    out = tmp_path / "filtered.csv"
    run_json(cli, "exports", "run", "--project", str(project["id"]), "--format", "csv", "--out", str(out),
             "--columns", '{"order.id": "id", "order.status_code": "status"}', "--filters", json.dumps(SOME_STATUSES))
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as session:
        expected = set(session.execute(select(Order.id, Order.status).where(
            Order.project_id == project["id"], Order.status.in_(SOME_STATUSES["status"]))).all())
    engine.dispose()
    assert expected and {(int(order), status) for order, status in rows} == expected


def test_exports_create_queues_a_filtered_export_like_the_api(cli: CliRunner, settings: Settings) -> None:
    project = _project(cli)
    filters = {"created": {"from": "2026-11-01", "to": "2026-12-01"}, "country": ["fr"]}
    made = run_json(cli, "exports", "create", "--project", str(project["id"]), "--username", "ann",
                    "--format", "xlsx", "--filters", json.dumps(filters))
    assert made["status"] == "waiting" and made["format"] == "xlsx"
    assert made["filters"] == {**filters, "country": ["FR"]}
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as session:
        stored = session.get_one(Export, made["id"])
        assert (stored.options or {})["type"] == {"filters": made["filters"], "layout": "items"}
    engine.dispose()
    assert make_huey(settings.resolved_broker_url, name=settings.queue_name).pending_count() == 1


def test_exports_create_refuses_what_the_api_refuses(cli: CliRunner, settings: Settings) -> None:
    project = _project(cli)
    base = ["exports", "create", "--project", str(project["id"]), "--format", "csv"]
    bad_date = cli.invoke(app, [*base, "--username", "ann", "--filters", '{"created": {"from": "2026-02-30"}}'])
    assert bad_date.exit_code == 1 and "filters.created.from" in bad_date.output, bad_date.output
    not_json = cli.invoke(app, [*base, "--username", "ann", "--filters", "{"])
    assert not_json.exit_code == 1 and "filters" in not_json.output and "Traceback" not in not_json.output
    # Another user may not have the owner's backers emailed to them.
    others = cli.invoke(app, [*base, "--username", "bob", "--filters", json.dumps(SOME_STATUSES)])
    assert others.exit_code == 1 and "only the owner" in others.output, others.output
    cap = settings.max_active_exports_per_project
    for _ in range(cap):
        run_json(cli, *base, "--username", "ann", "--filters", json.dumps(SOME_STATUSES))
    over = cli.invoke(app, [*base, "--username", "ann", "--filters", json.dumps(SOME_STATUSES)])
    assert over.exit_code == 1 and f"{cap} exports waiting or processing" in over.output, over.output
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Export)) == cap
    engine.dispose()


def test_exports_create_with_an_idempotency_key_makes_one_export(cli: CliRunner, settings: Settings) -> None:
    project = _project(cli)
    base = ["exports", "create", "--project", str(project["id"]), "--username", "ann", "--format", "csv",
            "--idempotency-key", "monthly-2026-11"]
    first = run_json(cli, *base)
    assert run_json(cli, *base)["id"] == first["id"]
    other_body = cli.invoke(app, [*base[:-3], "xlsx", *base[-2:]])
    assert other_body.exit_code == 1 and "Idempotency-Key" in other_body.output, other_body.output
    bad = cli.invoke(app, [*base[:-1], "\u00e9t\u00e9"])
    assert bad.exit_code == 1 and "printable ASCII" in bad.output, bad.output
    assert make_huey(settings.resolved_broker_url, name=settings.queue_name).pending_count() == 1

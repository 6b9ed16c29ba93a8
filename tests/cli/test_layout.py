"""`--layout` on `exports create` and `exports run` (issue 16): the API's `layout`, checked the same way."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from crowdexports.cli.main import app
from tests.cli.conftest import run_json


def test_layout_from_the_command_line(cli: CliRunner, tmp_path: Path) -> None:
    assert cli.invoke(app, ["migrate"]).exit_code == 0
    run_json(cli, "users", "create", "--username", "ann", "--email", "ann@example.com", "--password", "pw-pw-pw-pw")
    project = str(run_json(cli, "projects", "create", "--owner", "ann", "--name", "Kettle")["id"])
    run_json(cli, "orders", "seed", "--project", project, "--count", "30", "--seed", "9")
    for layout in ("orders", "items_repeated"):
        made = run_json(cli, "exports", "create", "--project", project, "--username", "ann", "--format", "csv",
                        "--layout", layout)
        assert made["layout"] == layout
    assert run_json(cli, "exports", "create", "--project", project, "--username", "ann",
                    "--format", "xlsx")["layout"] == "items"
    refused = cli.invoke(app, ["exports", "create", "--project", project, "--username", "ann", "--format", "csv",
                               "--layout", "rows"])
    assert refused.exit_code == 1 and "layout: must be one of: items, orders, items_repeated" in refused.output
    rows = {}
    for layout in ("items", "orders"):
        out = tmp_path / f"{layout}.csv"
        run_json(cli, "exports", "run", "--project", project, "--format", "csv", "--out", str(out),
                 "--columns", '{"order.id": "id", "order.total": "total"}', "--layout", layout)
        with out.open(encoding="utf-8-sig") as handle:
            rows[layout] = list(csv.reader(handle))[1:]
    ids = [order_id for order_id, _total in rows["items"]]
    assert len(ids) > len(set(ids)), "the seed has orders of several items"
    assert [order_id for order_id, _total in rows["orders"]] == list(dict.fromkeys(ids))
    assert sum(Decimal(total) for _id, total in rows["items"] if total) == sum(Decimal(t) for _i, t in rows["orders"])

"""`--changes-since` on `exports create` and `exports run` (issue 16.5): the API's `changes_since`, checked
and resolved the same way: "last" with no earlier export is every order, an id of a succeeded export of
the project holds only the orders changed after it, anything else is refused naming the option's field."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from sqlalchemy import update
from typer.testing import CliRunner

from crowdexports.cli.main import app
from crowdexports.config import Settings
from crowdexports.database.engine import make_engine, make_session_factory
from crowdexports.exports.statuses import ExportStatus
from crowdexports.models import Export
from tests.cli.conftest import run_json


def _project(cli: CliRunner) -> dict[str, Any]:
    assert cli.invoke(app, ["migrate"]).exit_code == 0
    run_json(cli, "users", "create", "--username", "ann", "--email", "ann@example.com", "--password", "pw-pw-pw-pw")
    project = run_json(cli, "projects", "create", "--owner", "ann", "--name", "Kettle")
    run_json(cli, "orders", "seed", "--project", str(project["id"]), "--count", "20", "--seed", "9")
    return project


def _succeed(settings: Settings, export_id: int, changes_upto: int) -> None:
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as session:
        session.execute(update(Export).where(Export.id == export_id).values(
            status=ExportStatus.SUCCEEDED, changes_upto=changes_upto))
        session.commit()
    engine.dispose()


def test_changes_since_from_the_command_line(cli: CliRunner, settings: Settings, tmp_path: Path) -> None:
    project = str(_project(cli)["id"])
    first = run_json(cli, "exports", "create", "--project", project, "--username", "ann", "--format", "csv",
                     "--changes-since", "last")
    assert first["changes_since"] is None, "no earlier export: every order"
    _succeed(settings, first["id"], 0)
    since = run_json(cli, "exports", "create", "--project", project, "--username", "ann", "--format", "csv",
                     "--changes-since", "last")
    assert since["changes_since"] == first["id"]
    assert run_json(cli, "exports", "create", "--project", project, "--username", "ann", "--format", "csv",
                    "--changes-since", str(first["id"]))["changes_since"] == first["id"]
    everything, changed = tmp_path / "all.csv", tmp_path / "changed.csv"
    for out, option in ((everything, []), (changed, ["--changes-since", str(first["id"])])):
        run_json(cli, "exports", "run", "--project", project, "--format", "csv", "--out", str(out),
                 "--columns", '{"order.id": "id"}', *option)
    with everything.open(encoding="utf-8-sig") as handle:
        assert len(list(csv.reader(handle))) > 20
    with changed.open(encoding="utf-8-sig") as handle:
        assert list(csv.reader(handle)) == [["id"]], "seeded orders are not changes since the export"
    for value in ("first", "0", str(since["id"])):  # `since` is waiting: no marker yet
        refused = cli.invoke(app, ["exports", "create", "--project", project, "--username", "ann",
                                   "--format", "csv", "--changes-since", value])
        assert refused.exit_code == 1 and "changes_since" in refused.output, refused.output

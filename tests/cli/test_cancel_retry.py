"""`crowdexports exports cancel --id N` and `exports retry --id N` (issue 15): the operator's side of the
owner's cancel and retry, through the same functions (lifecycle.cancel, asking.retry_export)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from crowdexports.auth import accounts
from crowdexports.cli.main import app
from crowdexports.config import Settings
from crowdexports.exports import lifecycle
from crowdexports.models import Export
from crowdexports.worker.queue import make_huey
from tests.cli.conftest import run_json


def test_cancel_then_retry_for_the_projects_owner(cli: CliRunner, session: Session, settings: Settings) -> None:
    owner = accounts.create_user(session, username="olga", email="olga@example.com")
    project = accounts.create_project(session, owner=owner, name="Solar Kettle")
    export = lifecycle.request(session, project=project, user=owner, type_="orders", format_="csv",
                               columns={"order.id": "Id"},
                               options={"format": {"dialect": "excel_eu"}, "type": {"filters": {}}})
    assert run_json(cli, "exports", "cancel", "--id", str(export.id)) == {"id": export.id, "status": "canceled"}
    again = cli.invoke(app, ["exports", "cancel", "--id", str(export.id)])
    assert again.exit_code == 1 and f"export {export.id} is already canceled" in again.output
    retried = run_json(cli, "exports", "retry", "--id", str(export.id))
    assert (retried["retry_of"], retried["status"], retried["user_id"]) == (export.id, "waiting", owner.id)
    session.expire_all()
    new = session.get_one(Export, retried["id"])
    # Stored before layouts (no `layout`): retried with the layout its file had, stored now.
    stored = {**(export.options or {}), "type": {"filters": {}, "layout": "items_repeated"}}
    assert (new.columns, new.options, new.retry_of) == ({"order.id": "Id"}, stored, export.id)
    assert make_huey(settings.resolved_broker_url, name=settings.queue_name).pending_count() == 1  # dispatched
    refused = cli.invoke(app, ["exports", "retry", "--id", str(new.id)])
    assert refused.exit_code == 1 and "only a failed or canceled export can be retried" in refused.output
    assert len(session.scalars(select(Export)).all()) == 2


def test_an_unknown_export_is_one_line(cli: CliRunner) -> None:
    assert cli.invoke(app, ["migrate"]).exit_code == 0
    for command in ("cancel", "retry"):
        result = cli.invoke(app, ["exports", command, "--id", "987654"])
        assert result.exit_code == 1 and "export 987654 does not exist" in result.output

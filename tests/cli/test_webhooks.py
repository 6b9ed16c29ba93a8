"""`crowdexports webhooks list|add|remove|attempts` (issue 17), in-process against the selected stack's
database: the API's rules, one-line errors, and the owner named by --user."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from typer.testing import CliRunner

from crowdexports.cli.main import app
from crowdexports.config import Settings
from crowdexports.database.engine import make_engine, make_session_factory
from crowdexports.models import Export, WebhookDelivery
from crowdexports.webhooks import deliveries
from crowdexports.webhooks.sending import Answer
from tests.cli.conftest import run_json

URL = "https://books.example/hooks/crowdexports"


@pytest.fixture
def project(cli: CliRunner) -> dict[str, Any]:
    assert cli.invoke(app, ["migrate"]).exit_code == 0
    for name in ("ann", "bob"):
        run_json(cli, "users", "create", "--username", name, "--email", f"{name}@example.com", "--password",
                 "pw-pw-pw-pw")
    made = run_json(cli, "projects", "create", "--owner", "ann", "--name", "Kettle")
    run_json(cli, "orders", "seed", "--project", str(made["id"]), "--count", "3", "--seed", "4")
    return made


def _record_a_500(settings: Settings, project_id: int) -> str:
    """An export's event queued and one attempt answered 500, as the sender records it; the event id."""
    with make_session_factory(make_engine(settings.resolved_database_url))() as session:
        export = session.query(Export).filter_by(project_id=project_id).one()
        now = datetime.now(UTC)
        [delivery_id] = deliveries.enqueue(session, export_id=export.id, project_id=project_id,
                                           owner_id=export.user_id, event="export.succeeded", now=now)
        delivery = deliveries.claim(session, delivery_id, now)
        assert delivery is not None
        deliveries.record(session, delivery, Answer(500, None, 12), now, now)
        return session.get_one(WebhookDelivery, delivery_id).event_id


def test_an_endpoint_is_added_listed_its_attempts_shown_and_removed(cli: CliRunner, settings: Settings,
                                                                    project: dict[str, Any]) -> None:
    made = run_json(cli, "webhooks", "add", "--user", "ann", "--url", URL, "--event", "export.succeeded",
                    "--event", "export.failed", "--project", str(project["id"]))
    assert made["secret"].startswith("whsec_") and made["events"] == ["export.succeeded", "export.failed"]
    assert made["project_id"] == project["id"] and made["enabled"] is True
    listed = run_json(cli, "webhooks", "list", "--user", "ann")["webhook_endpoints"]
    assert listed == [{key: value for key, value in made.items() if key != "secret"}]
    assert run_json(cli, "webhooks", "list", "--user", "bob")["webhook_endpoints"] == []
    endpoint_id = str(made["id"])
    assert run_json(cli, "webhooks", "attempts", "--user", "ann", "--id", endpoint_id)["attempts"] == []

    run_json(cli, "exports", "create", "--project", str(project["id"]), "--username", "ann", "--format", "csv")
    event_id = _record_a_500(settings, project["id"])
    [attempt] = run_json(cli, "webhooks", "attempts", "--user", "ann", "--id", endpoint_id)["attempts"]
    assert (attempt["event_id"], attempt["status_code"], attempt["outcome"], attempt["number"]) == (
        event_id, 500, "retry", 1)
    human = cli.invoke(app, ["webhooks", "attempts", "--user", "ann", "--id", endpoint_id])
    assert event_id in human.stdout

    assert run_json(cli, "webhooks", "remove", "--user", "ann", "--id", endpoint_id)["id"] == made["id"]
    assert run_json(cli, "webhooks", "list", "--user", "ann")["webhook_endpoints"] == []


@pytest.mark.parametrize("args", [
    ["--url", "ftp://books.example/x", "--event", "export.succeeded"],
    ["--url", URL, "--event", "export.started"],
    ["--url", "https://127.0.0.1/hook", "--event", "export.succeeded"],
    ["--url", "https://[::1]/hook", "--event", "export.succeeded"],
    ["--url", "https://169.254.169.254/latest", "--event", "export.succeeded"],
    ["--url", URL + "\u202e", "--event", "export.succeeded"],
    ["--url", URL, "--event", "export.succeeded", "--project", "9223372036854775808"],
])
def test_bad_endpoints_are_one_line_errors(cli: CliRunner, project: dict[str, Any], args: list[str]) -> None:
    result = cli.invoke(app, ["webhooks", "add", "--user", "ann", *args])
    assert result.exit_code != 0 and "Traceback" not in result.output, result.output
    assert run_json(cli, "webhooks", "list", "--user", "ann")["webhook_endpoints"] == []


def test_another_owners_project_and_endpoints_are_as_missing_ones(cli: CliRunner, project: dict[str, Any]) -> None:
    refused = cli.invoke(app, ["webhooks", "add", "--user", "bob", "--url", URL, "--event", "export.failed",
                               "--project", str(project["id"])])
    assert refused.exit_code == 1 and "not one of yours" in refused.output
    made = run_json(cli, "webhooks", "add", "--user", "ann", "--url", URL, "--event", "export.failed")
    for command in ("remove", "attempts"):
        result = cli.invoke(app, ["webhooks", command, "--user", "bob", "--id", str(made["id"])])
        assert result.exit_code == 1 and "does not exist" in result.output, result.output
    assert [e["id"] for e in run_json(cli, "webhooks", "list", "--user", "ann")["webhook_endpoints"]] == [made["id"]]

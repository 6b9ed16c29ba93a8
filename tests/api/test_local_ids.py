"""Rows made here and rows synced from the platform never share an id (issue 12, point 15).

`demo`, `users create`, `projects create` and `orders seed` take ids from the local range (crowdexports.ids);
the sync refuses that range: a PUT of a local id is 409, an imported line naming one a ValueError on its
field, and nothing is written. The README's walk-through runs after `demo` as a new user would run it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from crowdexports.cli.main import app
from crowdexports.config import Settings
from crowdexports.ids import LOCAL_END, LOCAL_START, is_local
from crowdexports.models import Order, Project, Reward, User
from tests.api.conftest import Account
from tests.api.order_lines import ndjson, order, post_import, user
from tests.api.syncing import problems, project_body, put, reward_body, snapshot, user_body
from tests.conftest import stack_env


@pytest.fixture
def cli(settings: Settings) -> CliRunner:
    return CliRunner(env={"CROWDEXPORTS_DATA_DIR": str(settings.data_dir),
                          "CROWDEXPORTS_SECRET_KEY": "test-secret-key-0123456789abcdef", **stack_env(settings)})


@pytest.fixture
def demo(cli: CliRunner) -> dict[str, Any]:
    """`crowdexports demo` on the test's database, before the app's fixtures touch it."""
    result = cli.invoke(app, ["demo", "--orders", "60", "--json"])
    assert result.exit_code == 0, result.output
    printed: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return printed


def test_every_row_made_here_has_a_local_id(demo: dict[str, Any], session: Session, alice: Account) -> None:
    owner = session.scalars(select(User).where(User.username == demo["username"])).one()
    assert owner.id >= LOCAL_START and demo["project_id"] >= LOCAL_START and alice.user.id >= LOCAL_START
    for model in (User, Project, Reward, Order):
        assert all(is_local(row_id) for row_id in session.scalars(select(model.id))), model.__tablename__


def test_the_readme_sync_after_demo_creates_and_replaces_nothing_local(
        demo: dict[str, Any], client: TestClient, staff: Account, session_factory: sessionmaker[Session]) -> None:
    """docs/sync.md "Example" and "Orders": user 42 is new (201), and the import's backer is not the owner."""
    before = {row["id"]: row for row in snapshot(session_factory)["users"]}
    assert put(client, staff, "users", 42, user_body("olga")).status_code == 201
    assert put(client, staff, "projects", 7, project_body(42)).status_code == 201
    assert put(client, staff, "rewards", 1001, reward_body(7)).status_code == 201
    imported = post_import(client, staff, 7, ndjson(order(90001, user=user(43, username="zoe"))))
    assert imported.status_code == 200, imported.text
    after = {row["id"]: row for row in snapshot(session_factory)["users"]}
    assert {user_id: after[user_id] for user_id in before} == before
    assert (after[42]["username"], after[43]["username"]) == ("olga", "zoe")
    with session_factory() as session:
        demo_project = session.get_one(Project, demo["project_id"])
        assert session.get_one(User, demo_project.owner_id).username == demo["username"]


@pytest.mark.parametrize("kind", ["users", "projects", "rewards"])
def test_a_put_of_a_local_id_is_409_and_writes_nothing(
        demo: dict[str, Any], client: TestClient, staff: Account, session_factory: sessionmaker[Session],
        kind: str) -> None:
    with session_factory() as session:
        owner_id = session.scalars(select(User.id).where(User.username == demo["username"])).one()
        reward_id = session.scalars(select(Reward.id).where(Reward.project_id == demo["project_id"])).first()
    local_id = {"users": owner_id, "projects": demo["project_id"], "rewards": reward_id}[kind]
    body = {"users": user_body("mallory"), "projects": project_body(owner_id),
            "rewards": reward_body(demo["project_id"])}[kind]
    before = snapshot(session_factory)
    for target in (local_id, LOCAL_END):  # a local row, and a free id of the local range
        response = put(client, staff, kind, target, body)
        assert response.status_code == 409, response.text
        [error] = response.json()["errors"]
        assert error["classification"] == "ConflictError" and "900,000,000,000,000" in error["message"]
    assert snapshot(session_factory) == before


def test_an_import_naming_a_local_user_or_order_is_refused_whole(
        demo: dict[str, Any], client: TestClient, staff: Account, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        owner_id = session.scalars(select(User.id).where(User.username == demo["username"])).one()
        local_order = session.scalars(select(Order.id).where(Order.project_id == demo["project_id"])).first()
    assert local_order is not None
    before = snapshot(session_factory)
    response = post_import(client, staff, demo["project_id"], ndjson(
        order(90002), order(90003, user=user(owner_id, username="renamed")), order(local_order)))
    assert response.status_code == 400, response.text
    assert problems(response) == [("ValueError", ["line 2", "user", "id"]), ("ValueError", ["line 3", "id"])]
    assert all("900,000,000,000,000" in error["message"] for error in response.json()["errors"])
    assert snapshot(session_factory) == before


def test_a_file_import_of_a_local_id_is_refused(demo: dict[str, Any], cli: CliRunner, tmp_path: Path,
                                                session_factory: sessionmaker[Session]) -> None:
    before = snapshot(session_factory)
    lines = tmp_path / "users.jsonl"
    lines.write_text(json.dumps({"id": 43, **user_body("zoe")}) + "\n"
                     + json.dumps({"id": LOCAL_START, **user_body("mallory")}) + "\n")
    result = cli.invoke(app, ["import", "users", str(lines)])
    assert result.exit_code == 1 and "line 2: user 900000000000000 is in the range" in result.output
    assert snapshot(session_factory) == before

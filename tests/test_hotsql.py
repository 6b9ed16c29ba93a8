"""HotStatement (crowdexports/database/hotsql.py) gives the values Core gives, for every hot statement, on both
stacks: the library stays the reference for what it replaces on the API's hottest reads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from crowdexports.auth import accounts, credentials
from crowdexports.config import Settings
from crowdexports.database.hotsql import HotConnection, HotStatement
from crowdexports.exports import access, listing, resource
from crowdexports.models import Export, UserRecord, utcnow


@pytest.fixture
def filled(session: Session, settings: Settings) -> dict[str, dict[str, object]]:
    """A user with an API key and a token, a project, and exports with and without optional fields."""
    user = accounts.create_user(session, username="zoé", email="z@example.com", first_name="Zoé", is_staff=True)
    project = accounts.create_project(session, owner=user, name="P")
    client, _, _ = accounts.create_client(session, "c")
    _, key = accounts.create_api_key(session, user)
    token = accounts.issue_tokens(session, user, client, settings)["access_token"]
    now = utcnow()
    session.execute(insert(Export), [
        {"project_id": project.id, "user_id": user.id, "type": "orders", "format": "csv", "status": "waiting",
         "created_at": now - timedelta(seconds=n), "columns": {"order_id": "Nº"} if n % 2 else None,
         "expires_at": now + timedelta(days=n) if n % 3 else None, "row_count": n or None}
        for n in range(25)])
    session.commit()
    return {
        "api key": {"key_hash": credentials.hash_token(key)}, "token": {"access_hash": credentials.hash_token(token)},
        "named user": {"username": "zoé"}, "project owner": {"project_id": project.id},
        "user": {"user_id": user.id}, "first page": {"project_id": project.id},
        "since page": {"project_id": project.id, "since": now - timedelta(seconds=7)},
        "shown": {"export_id": 3},
    }


HOT: dict[str, HotStatement] = {
    "api key": credentials._API_KEY_USER, "token": credentials._TOKEN_USER, "named user": credentials._NAMED_USER,
    "project owner": access._PROJECT_OWNER, "user": listing._USER, "first page": listing._PAGES[False],
    "since page": listing._PAGES[True], "shown": resource._SHOWN,
}


@pytest.mark.parametrize("name", list(HOT))
def test_hot_rows_equal_core_rows(engine: Engine, filled: dict[str, dict[str, object]], name: str) -> None:
    statement, params = HOT[name], filled[name]
    with engine.connect() as connection:
        core = [tuple(row) for row in connection.execute(statement.select, params)]
    pooled = engine.raw_connection()
    try:
        hot = HotConnection(pooled.dbapi_connection, engine.dialect).rows(statement, **params)
    finally:
        pooled.close()
    assert core, f"{name}: the fixture should give rows"
    assert [tuple(row) for row in hot] == core
    assert [[type(value) for value in row] for row in hot] == [[type(value) for value in row] for row in core]


def test_the_hot_resource_is_the_orm_resource(engine: Engine, session: Session, settings: Settings,
                                               filled: dict[str, dict[str, object]]) -> None:
    """Show's resource from the hot statement (timestamps as RFC 3339 text made by the database) equals
    the one built from ORM objects, whole seconds (".000000Z") and missing timestamps included."""
    export = session.get(Export, 3)
    assert export is not None
    export.started_at = export.created_at.replace(microsecond=0)
    export.finished_at = None
    session.commit()
    caller = UserRecord(export.user_id, "zoé", "z@example.com", "Zoé", "", "", "en", True)
    pooled = engine.raw_connection()
    try:
        hot = resource.shown_resource(HotConnection(pooled.dbapi_connection, engine.dialect),
                                      3, caller, settings)
    finally:
        pooled.close()
    assert hot == resource.resource_of(session, export, caller, settings)
    assert hot["started_at"].endswith(".000000Z") and hot["finished_at"] is None

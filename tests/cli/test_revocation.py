"""The revocation commands: users (de)activate and revoke-tokens, apikeys create/list/revoke, clients revoke.
Each is checked where it matters, in the caller lookups the API runs (credentials.py)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from crowdexports.auth import accounts, credentials
from crowdexports.cli.main import app
from crowdexports.config import Settings
from crowdexports.database.engine import make_engine, make_session_factory
from crowdexports.database.hotsql import HotConnection
from tests.cli.conftest import run_json


@pytest.fixture
def sessions(settings: Settings, cli: CliRunner) -> Iterator[Session]:
    assert cli.invoke(app, ["migrate"]).exit_code == 0
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as session:
        yield session
    engine.dispose()


def _lookup(session: Session, find: Callable[[HotConnection, str], object], secret: str) -> object:
    """What the API's caller lookup `find` answers for `secret`, run as the API runs it."""
    pooled = session.get_bind().raw_connection()  # type: ignore[union-attr]  # bound to an Engine, not a Connection
    try:
        return find(HotConnection(pooled.dbapi_connection, session.get_bind().dialect), secret)
    finally:
        pooled.close()


def test_users_deactivate_and_activate(cli: CliRunner, sessions: Session, settings: Settings) -> None:
    run_json(cli, "users", "create", "--username", "ann", "--email", "ann@example.com", "--password", "pw-pw-pw-pw")
    key = str(run_json(cli, "apikeys", "create", "--username", "ann")["api_key"])
    user = accounts.find_user(sessions, "ann")
    token = str(accounts.issue_tokens(sessions, user, None, settings)["access_token"])
    assert run_json(cli, "users", "deactivate", "--username", "ann") == {"id": user.id, "username": "ann",
                                                                      "is_active": False}
    assert _lookup(sessions, credentials.user_for_api_key, key) is None
    assert _lookup(sessions, credentials.user_for_access_token, token) is None
    assert _lookup(sessions, credentials.user_and_password_hash, "ann") == (None, None)
    assert run_json(cli, "users", "activate", "--username", "ann")["is_active"] is True
    assert _lookup(sessions, credentials.user_for_api_key, key) is not None
    assert _lookup(sessions, credentials.user_for_access_token, token) is not None


def test_users_revoke_tokens(cli: CliRunner, sessions: Session, settings: Settings) -> None:
    run_json(cli, "users", "create", "--username", "ann", "--email", "ann@example.com", "--password", "pw-pw-pw-pw")
    user = accounts.find_user(sessions, "ann")
    tokens = [str(accounts.issue_tokens(sessions, user, None, settings)["access_token"]) for _ in range(2)]
    assert run_json(cli, "users", "revoke-tokens", "--username", "ann") == {"username": "ann", "revoked": 2}
    assert all(_lookup(sessions, credentials.user_for_access_token, token) is None for token in tokens)
    assert run_json(cli, "users", "revoke-tokens", "--username", "ann")["revoked"] == 0


def test_apikeys_create_with_expiry_list_and_revoke(cli: CliRunner, sessions: Session) -> None:
    run_json(cli, "users", "create", "--username", "ann", "--email", "ann@example.com", "--password", "pw-pw-pw-pw")
    lasting = run_json(cli, "apikeys", "create", "--username", "ann")
    expiring = run_json(cli, "apikeys", "create", "--username", "ann", "--expires-in-days", "7")
    assert lasting["expires_at"] is None and expiring["expires_at"] is not None
    listed = run_json(cli, "apikeys", "list", "--username", "ann")["api_keys"]
    assert [key["id"] for key in listed] == [lasting["id"], expiring["id"]]
    assert "api_key" not in str(listed) and str(lasting["api_key"]) not in str(listed)

    revoked = run_json(cli, "apikeys", "revoke", "--id", str(lasting["id"]))
    assert revoked["id"] == lasting["id"] and revoked["revoked_at"] is not None
    assert _lookup(sessions, credentials.user_for_api_key, str(lasting["api_key"])) is None
    assert _lookup(sessions, credentials.user_for_api_key, str(expiring["api_key"])) is not None
    missing = cli.invoke(app, ["apikeys", "revoke", "--id", "999"])
    assert missing.exit_code == 1 and "no API key 999" in missing.output
    bad = cli.invoke(app, ["apikeys", "create", "--username", "ann", "--expires-in-days", "0"])
    assert bad.exit_code == 1 and "expires_in_days" in bad.output


def test_clients_revoke(cli: CliRunner, sessions: Session, settings: Settings) -> None:
    run_json(cli, "users", "create", "--username", "ann", "--email", "ann@example.com", "--password", "pw-pw-pw-pw")
    made = run_json(cli, "clients", "create", "--name", "bookkeeping")
    client = accounts.find_client(sessions, str(made["client_id"]))
    token = str(accounts.issue_tokens(sessions, accounts.find_user(sessions, "ann"), client, settings)["access_token"])
    revoked = run_json(cli, "clients", "revoke", "--client-id", str(made["client_id"]))
    assert revoked["tokens_revoked"] == 1 and revoked["revoked_at"] is not None
    assert _lookup(sessions, credentials.user_for_access_token, token) is None
    assert credentials.client_for_secret(sessions, str(made["client_id"]), str(made["client_secret"])) is None


def test_import_users_with_a_new_password_revokes_tokens_and_keys(cli: CliRunner, sessions: Session,
                                                                  settings: Settings, tmp_path: Path) -> None:
    line = {"id": 42, "username": "olga", "email": "olga@example.com", "password": "first password"}
    users = tmp_path / "users.jsonl"
    users.write_text(json.dumps(line) + "\n", encoding="utf-8")
    run_json(cli, "import", "users", str(users))
    key = str(run_json(cli, "apikeys", "create", "--username", "olga")["api_key"])
    token = str(accounts.issue_tokens(sessions, accounts.find_user(sessions, "olga"), None, settings)["access_token"])
    run_json(cli, "import", "users", str(users))  # the same password: no change
    assert _lookup(sessions, credentials.user_for_access_token, token) is not None
    users.write_text(json.dumps({**line, "password": "second password"}) + "\n", encoding="utf-8")
    run_json(cli, "import", "users", str(users))
    assert _lookup(sessions, credentials.user_for_access_token, token) is None
    assert _lookup(sessions, credentials.user_for_api_key, key) is None

"""The app as a whole: the error envelope everywhere, health, docs, and secrets never stored in clear."""

from __future__ import annotations

import base64
import re
from dataclasses import replace
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict
from sqlalchemy import inspect
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from crowdexports.api.app import create_app
from crowdexports.auth import accounts, credentials
from crowdexports.config import Settings
from crowdexports.database.engine import make_engine, make_session_factory
from crowdexports.models import OAuthClient
from crowdexports.runtime import Runtime
from tests.api.conftest import Account, ignore_dispatch
from tests.servers import free_port


def only_error(response: httpx.Response, status: int, classification: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"errors"} and len(body["errors"]) == 1
    error: dict[str, object] = body["errors"][0]
    assert set(error) == {"classification", "fieldNames", "message"}
    assert error["classification"] == classification
    return error


def test_unknown_routes_and_bad_ids_get_the_envelope(client: TestClient, alice: Account) -> None:
    for path in ("/nope", "/v1/exports", "/v1/exports/1/nope", "/v1/projects"):
        only_error(client.get(path), 404, "NotFoundError")
    for path in ("/v1/exports/abc", "/v1/exports/99999999999999999999", "/v1/exports/-1", "/v1/exports/1e3"):
        only_error(client.get(path, headers=alice.apikey), 404, "NotFoundError")
    only_error(client.get("/v1/exports/abc"), 401, "AuthenticationError")  # who asks is checked first


def test_a_wrong_method_is_405_with_allow(client: TestClient) -> None:
    response = client.delete("/v1/exports/1")
    only_error(response, 405, "MethodNotAllowedError")
    assert response.headers["allow"] == "GET"
    assert client.put("/v1/projects/1/exports").headers["allow"] == "GET, POST"


def test_healthz_checks_database_queue_and_storage(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "queue": "ok", "storage": "ok"}


def test_healthz_names_what_is_down(runtime: Runtime) -> None:
    def queue_down() -> int:
        raise ConnectionError("broker unreachable")  # stands in for a Redis that does not answer

    with TestClient(create_app(replace(runtime, queue_size=queue_down), ignore_dispatch)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    body = response.json()
    assert (body["queue"], body["database"], body["storage"]) == ("unavailable", "ok", "ok")
    assert body["errors"][0]["fieldNames"] == ["queue"]


def broken_runtime(runtime: Runtime, tmp_path: Path) -> Runtime:
    """The same service over a database that cannot be opened: on SQLite its path is a directory, on
    PostgreSQL nothing listens at its port."""
    url = f"sqlite:///{tmp_path}" if runtime.engine.dialect.name == "sqlite" else (
        f"postgresql://crowdexports@127.0.0.1:{free_port()}/crowdexports")
    engine = make_engine(url)
    return replace(runtime, engine=engine, sessions=make_session_factory(engine))


def test_a_database_that_is_down_gives_503_not_500(runtime: Runtime, tmp_path: Path, alice: Account) -> None:
    app = create_app(broken_runtime(runtime, tmp_path), ignore_dispatch)
    with TestClient(app, raise_server_exceptions=False) as client:
        health = client.get("/healthz")
        assert health.status_code == 503 and health.json()["database"] == "unavailable"
        assert health.json()["errors"][0]["classification"] == "ServiceUnavailableError"
        response = client.get("/v1/exports/1", headers=alice.apikey)
        only_error(response, 503, "ServiceUnavailableError")
        assert response.headers["retry-after"] == "5"


def test_an_unexpected_error_is_a_500_without_details(runtime: Runtime) -> None:
    app = create_app(runtime, ignore_dispatch)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals at /srv/app.py line 42")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    error = only_error(response, 500, "ServerError")
    assert error["message"] == "Internal server error."
    for leak in ("secret", "Traceback", "RuntimeError", "app.py"):
        assert leak not in response.text


def test_openapi_and_docs_are_served(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/oauth2/token/", "/v1/projects/{project_id}/exports", "/v1/exports/{export_id}",
            "/v1/exports/{export_id}/cancel", "/v1/exports/{export_id}/download",
            "/healthz", "/v1/projects/{project_id}/export-presets", "/v1/export-presets/{preset_id}"
            } <= set(schema["paths"])
    create = schema["paths"]["/v1/projects/{project_id}/exports"]["post"]
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {"format", "type", "columns", "csv_dialect", "filters", "changes_since", "layout",
                                      "preset"}
    assert body["properties"]["csv_dialect"]["enum"] == ["rfc4180", "excel_eu", None] and "$defs" not in body
    assert "ErrorBody" in schema["components"]["schemas"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_no_secret_is_stored_in_clear(client: TestClient, session: Session, settings: Settings,
                                      oauth_client: tuple[OAuthClient, str, str]) -> None:
    """Read everything stored (SQLite: the raw files, WAL too; PostgreSQL: every row of every table as
    text): hashes are there, the secrets themselves are not."""
    password = "correct horse battery staple"
    user = accounts.create_user(session, username="carol", email="carol@example.com", password=password)
    _, api_key = accounts.create_api_key(session, user)
    _, client_id, client_secret = oauth_client
    pair = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
    tokens = client.post("/oauth2/token/", headers={"Authorization": f"Basic {pair}"},
                         data={"grant_type": "password", "username": "carol", "password": password}).json()
    secrets = [password, api_key, client_secret, tokens["access_token"], tokens["refresh_token"]]
    raw = _stored_bytes(session, settings)
    for secret in secrets:
        assert secret.encode() not in raw
    for secret in secrets[1:]:
        assert credentials.hash_token(secret).encode() in raw  # proves these bytes are the live data
    assert b"$argon2id$" in raw


def _stored_bytes(session: Session, settings: Settings) -> bytes:
    if session.get_bind().dialect.name == "sqlite":
        database = Path(settings.resolved_database_url.removeprefix("sqlite:///"))
        return b"".join(path.read_bytes() for path in database.parent.glob(database.name + "*"))
    tables = inspect(session.get_bind()).get_table_names()
    assert "users" in tables and "oauth_tokens" in tables
    rows = [text for table in tables
            for text in session.scalars(sql_text(f'SELECT CAST(t AS text) FROM "{table}" AS t'))]
    return "\n".join(rows).encode()


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


def test_fastapi_parameter_validation_is_answered_400_in_the_envelope(runtime: Runtime) -> None:
    """Our routes validate by hand, but any route declaring typed parameters gets the same mapping."""
    app = create_app(runtime, ignore_dispatch)

    @app.post("/typed")
    def typed(body: Body, count: int) -> None:
        raise AssertionError("not reached")

    with TestClient(app) as client:
        response = client.post("/typed?count=x", json={"name": 1, "extra": True})
    assert response.status_code == 400
    assert sorted((e["classification"], e["fieldNames"]) for e in response.json()["errors"]) == [
        ("TypeError", ["name"]), ("UnknownFieldError", ["extra"]), ("ValueError", ["count"])]


def test_docs_load_swagger_ui_from_the_app_not_a_cdn(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert {asset.rsplit("/", 1)[-1] for asset in assets} >= {"swagger-ui-bundle.js", "swagger-ui.css"}
    for asset in assets:
        assert asset.startswith("/"), asset  # this app's, not another host's
        served = client.get(asset)
        assert served.status_code == 200 and len(served.content) > 100, asset
    assert "SwaggerUIBundle" in client.get(next(a for a in assets if a.endswith(".js"))).text
    assert "'/openapi.json'" in page.text or '"/openapi.json"' in page.text


def test_a_path_is_served_with_or_without_its_trailing_slash(client: TestClient, alice: Account,
                                                             oauth_client: tuple[OAuthClient, str, str]) -> None:
    for path in ("/healthz/", "/healthz//"):
        assert client.get(path, follow_redirects=False).json()["status"] == "ok"
    listed = client.get("/v1/exports/1/", headers=alice.apikey, follow_redirects=False)
    only_error(listed, 404, "NotFoundError")  # the export's own answer, not a redirect
    _, client_id, secret = oauth_client
    token = client.post("/oauth2/token", auth=(client_id, secret), follow_redirects=False,
                        data={"grant_type": "password", "username": alice.user.username, "password": alice.password})
    assert token.status_code == 200 and "access_token" in token.json()
    only_error(client.get("/nope/", follow_redirects=False), 404, "NotFoundError")


def test_the_limit_parameter_says_larger_values_are_clamped(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/v1/projects/{project_id}/exports"]["get"]
    limit = next(parameter for parameter in operation["parameters"] if parameter["name"] == "limit")
    assert "larger number is not an error" in limit["description"] and "0" in limit["description"]

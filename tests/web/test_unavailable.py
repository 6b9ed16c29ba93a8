"""A database that is down: the page answers its own 503 page in the visitor's language, while the API
keeps its JSON envelope (tests/api/test_app.py)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from crowdexports.api.app import create_app
from crowdexports.runtime import Runtime
from crowdexports.web import sessions
from tests.api.conftest import ignore_dispatch
from tests.api.test_app import broken_runtime


def test_a_page_over_a_database_that_is_down_is_a_503_page_in_the_visitors_language(runtime: Runtime,
                                                                                   tmp_path: Path) -> None:
    app = create_app(broken_runtime(runtime, tmp_path), ignore_dispatch)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.cookies.set(sessions.COOKIE, "a-token", path=sessions.COOKIE_PATH)
        for lang, words in (("en", "Unavailable for a moment"), ("fr", "Indisponible pour un instant")):
            answer = client.get("/web/projects", headers={"Accept-Language": lang})
            assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
            assert answer.headers["content-type"].startswith("text/html")
            assert words in answer.text
            assert answer.headers["cache-control"] == "no-store"
        api = client.get("/v1/exports/1", headers={"Authorization": "Bearer x"})
        assert api.status_code == 503 and api.json()["errors"][0]["classification"] == "ServiceUnavailableError"

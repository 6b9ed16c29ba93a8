"""Security headers on every page, no inline script or style anywhere, the vendored htmx as noted, and
the page kept out of the API's OpenAPI document."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from fastapi.testclient import TestClient

from crowdexports.web import headers
from crowdexports.web.install import STATIC_DIR
from tests.web.conftest import Person

HTMX = STATIC_DIR / "vendor" / "htmx-2.0.11"


def _pages(client: TestClient, olga: Person) -> list[str]:
    assert olga.project is not None
    return ["/web/projects", f"/web/projects/{olga.project.id}", f"/web/projects/{olga.project.id}/exports",
            "/web/projects/999999", "/web/nowhere"]


def test_every_page_has_the_security_headers_and_no_inline_script_or_style(signed_in: TestClient,
                                                                          olga: Person) -> None:
    answers = [signed_in.get(path) for path in _pages(signed_in, olga)]
    answers.append(TestClient(signed_in.app).get("/web/signin"))
    for answer in answers:
        policy = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy and "unsafe" not in policy
        assert "style-src 'self'" in policy and answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert not re.search(r"<script(?![^>]*\bsrc=)", answer.text), answer.url
        assert " style=" not in answer.text and "<style" not in answer.text and " on" + "click=" not in answer.text
    assert headers.CONTENT_SECURITY_POLICY.count("'self'") == 5


def test_static_files_keep_their_cache_validators(client: TestClient) -> None:
    answer = client.get("/web/static/style.css")
    assert answer.status_code == 200 and "etag" in answer.headers and "cache-control" not in answer.headers
    assert answer.headers["content-security-policy"] == headers.CONTENT_SECURITY_POLICY


def test_the_api_answers_keep_their_own_headers(client: TestClient) -> None:
    assert "content-security-policy" not in client.get("/healthz").headers


def test_the_vendored_htmx_is_the_noted_release(client: TestClient) -> None:
    noted = (HTMX / "SOURCE.md").read_text()
    served = client.get("/web/static/vendor/htmx-2.0.11/htmx.min.js")
    assert hashlib.sha256(served.content).hexdigest() in noted
    assert "Zero-Clause BSD" in (HTMX / "LICENSE").read_text()


def test_no_web_route_is_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert paths and not [path for path in paths if path == "/" or path.startswith("/web")]


def test_package_data_ships_the_pages_files() -> None:
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    for pattern in ("web/templates/*.j2", "web/static/*.css", "web/static/vendor/*/*", "web/locale/*/LC_MESSAGES/*.po"):
        assert f'"{pattern}"' in pyproject
    assert {path.suffix for path in STATIC_DIR.rglob("*") if path.is_file()} <= {".css", ".js", ".md", ""}

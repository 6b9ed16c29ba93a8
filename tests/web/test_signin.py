"""Signing in and out of the page: the API's password checks and limits, the cookie's flags, CSRF on
every form that changes something, and no page without a session."""

from __future__ import annotations

import base64
import dataclasses

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crowdexports.api.app import create_app
from crowdexports.models import Export, WebSession
from crowdexports.ratelimit import Limit
from crowdexports.runtime import Runtime
from crowdexports.web import sessions
from tests.web.conftest import PASSWORD, Person, csrf_of, make_person, sign_in


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/web/projects"), ("GET", "/web/projects/1"), ("GET", "/web/projects/1/exports"),
    ("POST", "/web/projects/1/exports"), ("POST", "/web/signout"), ("POST", "/web/language"), ("GET", "/web/nowhere"),
])
def test_no_page_but_sign_in_is_reachable_without_a_session(client: TestClient, method: str, path: str) -> None:
    answer = client.request(method, path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/web/signin?next=")
    assert client.get("/web/signin").status_code == 200


def test_a_live_part_of_a_page_sends_htmx_to_the_sign_in_page(client: TestClient) -> None:
    answer = client.get("/web/projects/1/exports", headers={"HX-Request": "true"}, follow_redirects=False)
    assert answer.status_code == 401 and answer.headers["HX-Redirect"].startswith("/web/signin")


def test_signing_in_opens_a_session_with_an_httponly_lax_cookie(client: TestClient, olga: Person,
                                                                session: Session) -> None:
    answer = sign_in(client, "olga")
    assert answer.status_code == 303 and answer.headers["location"] == "/web/projects"
    cookie = next(value for value in answer.headers.get_list("set-cookie") if value.startswith(sessions.COOKIE))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/web" in cookie and "Secure" not in cookie
    assert session.scalar(select(func.count()).select_from(WebSession)) == 1
    assert "Solar Kettle" in client.get("/web/projects").text


def test_the_cookie_is_secure_when_the_public_url_is_https(runtime: Runtime, olga: Person) -> None:
    https = dataclasses.replace(runtime, settings=runtime.settings.model_copy(
        update={"public_url": "https://exports.example.com"}))
    with TestClient(create_app(https, lambda export_id: None), base_url="https://testserver") as client:
        cookies = sign_in(client, "olga").headers.get_list("set-cookie")
    assert all("Secure" in cookie for cookie in cookies)


def test_a_wrong_password_or_an_inactive_user_gets_no_session(client: TestClient, olga: Person,
                                                              session: Session) -> None:
    wrong = sign_in(client, "olga", "not the password")
    assert wrong.status_code == 400 and "wrong" in wrong.text
    olga.user.is_active = False
    session.commit()
    assert sign_in(client, "olga").status_code == 400
    assert session.scalar(select(func.count()).select_from(WebSession)) == 0
    assert client.get("/web/projects", follow_redirects=False).status_code == 303


def test_staff_sign_in_too(client: TestClient, session: Session) -> None:
    make_person(session, "stella", is_staff=True, project=None)
    assert sign_in(client, "stella").status_code == 303
    assert client.get("/web/projects").status_code == 200


def test_failed_sign_ins_spend_the_apis_password_budget(runtime: Runtime, olga: Person) -> None:
    """Two failures a minute from one address: the page's third attempt, even right, is 429 before any
    hash, and so is the API's HTTP Basic for the same username (one budget, auth/throttle.py)."""
    limited = dataclasses.replace(runtime, settings=runtime.settings.model_copy(
        update={"rate_limit_password": Limit(2, 60)}),
        clock=lambda: 1_000_000.0)
    with TestClient(create_app(limited, lambda export_id: None)) as client:
        assert [sign_in(client, "olga", "nope").status_code for _ in range(2)] == [400, 400]
        refused = sign_in(client, "olga")
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        basic = base64.b64encode(f"olga:{PASSWORD}".encode()).decode()
        assert client.get("/v1/exports/1", headers={"Authorization": f"Basic {basic}"}).status_code == 429


def test_the_sign_in_form_needs_its_csrf_token(client: TestClient, olga: Person) -> None:
    client.get("/web/signin")
    forged = client.post("/web/signin", data={"csrf": "0" * 64, "username": "olga", "password": PASSWORD},
                         follow_redirects=False)
    assert forged.status_code == 400 and sessions.COOKIE not in forged.headers.get("set-cookie", "")
    fresh = TestClient(client.app)  # no pre-session cookie: a token from another browser is worth nothing
    token = csrf_of(client.get("/web/signin"))
    assert fresh.post("/web/signin", data={"csrf": token, "username": "olga", "password": PASSWORD},
                      follow_redirects=False).status_code == 400


def test_forms_without_the_sessions_token_change_nothing(signed_in: TestClient, olga: Person,
                                                         session: Session) -> None:
    assert olga.project is not None
    forged = signed_in.post(f"/web/projects/{olga.project.id}/exports", data={"format": "csv", "csrf": "0" * 64})
    assert forged.status_code == 403
    assert session.scalar(select(func.count()).select_from(Export)) == 0
    assert signed_in.post("/web/signout", data={}).status_code == 403
    assert signed_in.get("/web/projects").status_code == 200  # still signed in


def test_sign_out_revokes_the_session_in_the_database(signed_in: TestClient, session: Session) -> None:
    token = signed_in.cookies[sessions.COOKIE]
    answer = signed_in.post("/web/signout", data={"csrf": csrf_of(signed_in.get("/web/projects"))},
                            follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/web/signin"
    assert session.scalars(select(WebSession.revoked_at)).one() is not None
    signed_in.cookies.set(sessions.COOKIE, token, path="/web")  # a copy of the cookie kept by someone
    assert signed_in.get("/web/projects", follow_redirects=False).status_code == 303


def test_sign_in_returns_to_the_page_asked_for_but_never_to_another_site(client: TestClient, olga: Person) -> None:
    for asked, landing in (("/web/projects/7", "/web/projects/7"), ("//evil.example/x", "/web/projects"),
                           ("https://evil.example", "/web/projects")):
        client.cookies.clear()
        form = client.get("/web/signin", params={"next": asked})
        answer = client.post("/web/signin", data={"csrf": csrf_of(form), "username": "olga", "password": PASSWORD,
                                                  "next": asked}, follow_redirects=False)
        assert answer.headers["location"] == landing

"""Who sees what on the page, as tests/api/test_privacy.py for the API: every route under /web, read from
the app itself (a route missing from ROUTES fails the first test, so a new page cannot skip the matrix),
× no session, another owner, an owner on a staff page, and the rightful visitor.

On the page, someone else's project or export, and a staff page to anyone but staff, is the "not found"
page of an address that does not exist (the API answers a project 403: a page tells no one which ids
exist). A form posted by someone who may not post it changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.routing import Mount

from crowdexports.exports import lifecycle
from crowdexports.models import Export, ExportEvent, ExportPreset, ExportSchedule, WebhookEndpoint, WebSession, utcnow
from tests.web.conftest import Person, csrf_of, make_person, sign_in

MISSING = 987654321
PUBLIC, HOME, SIGNED, PROJECT, STAFF = "public", "home", "signed", "project", "staff"
# (method, path) of every route under /web (MOUNT: a folder of static files): who it is for.
ROUTES = {
    ("GET", "/"): HOME, ("GET", "/web"): HOME,
    ("GET", "/web/signin"): PUBLIC, ("POST", "/web/signin"): PUBLIC, ("MOUNT", "/web/static"): PUBLIC,
    ("POST", "/web/signout"): SIGNED, ("POST", "/web/language"): SIGNED, ("GET", "/web/projects"): SIGNED,
    ("GET", "/web/{rest:path}"): SIGNED,
    ("GET", "/web/projects/{project_id}"): PROJECT, ("GET", "/web/projects/{project_id}/exports"): PROJECT,
    ("POST", "/web/projects/{project_id}/exports"): PROJECT, ("POST", "/web/projects/{project_id}/presets"): PROJECT,
    ("POST", "/web/projects/{project_id}/presets/{preset_id}/delete"): PROJECT,
    ("GET", "/web/projects/{project_id}/exports/{export_id}/cancel"): PROJECT,
    ("POST", "/web/projects/{project_id}/exports/{export_id}/cancel"): PROJECT,
    ("POST", "/web/projects/{project_id}/exports/{export_id}/retry"): PROJECT,
    ("POST", "/web/projects/{project_id}/schedules"): PROJECT,
    ("POST", "/web/projects/{project_id}/schedules/{schedule_id}/pause"): PROJECT,
    ("POST", "/web/projects/{project_id}/schedules/{schedule_id}/resume"): PROJECT,
    ("POST", "/web/projects/{project_id}/schedules/{schedule_id}/delete"): PROJECT,
    ("GET", "/web/webhooks"): SIGNED, ("POST", "/web/webhooks"): SIGNED,
    ("POST", "/web/webhooks/{endpoint_id}/delete"): PROJECT,  # olga's endpoint: hers alone, as her project
    ("GET", "/web/staff/exports"): STAFF, ("GET", "/web/staff/exports/{export_id}"): STAFF,
    ("GET", "/web/staff/exports/{export_id}/cancel"): STAFF, ("POST", "/web/staff/exports/{export_id}/cancel"): STAFF,
}
# One body for every form: what each needs to do its work when the visitor may post it.
FORM = {"format": "csv", "csv_dialect": "rfc4180", "column": "order.id", "header.order.id": "Id", "lang": "fr",
        "next": "/web/projects", "name": "From the page", "rule": "daily", "at": "06:00", "settings_format": "csv",
        "url": "https://books.example/hook", "event": "export.succeeded"}


def _cases(*kinds: str, method: str = "") -> list[Any]:
    return [pytest.param(m, path, id=f"{m} {path}") for (m, path), kind in ROUTES.items()
            if (not kinds or kind in kinds) and method in ("", m)]


@dataclass
class World:
    olga: Person
    export: Export  # olga's, waiting
    preset: ExportPreset  # olga's
    schedule: ExportSchedule  # olga's
    endpoint: WebhookEndpoint  # olga's
    client: TestClient  # no session


def _client_of(world: World, username: str) -> TestClient:
    client = TestClient(world.client.app)
    assert sign_in(client, username).status_code == 303
    return client


@pytest.fixture
def world(client: TestClient, session: Session, olga: Person, boris: Person) -> World:
    assert olga.project is not None
    make_person(session, "stella", is_staff=True, project=None)
    export = lifecycle.request(session, project=olga.project, user=olga.user, type_="orders", format_="csv",
                               columns=None)
    preset = ExportPreset(project_id=olga.project.id, name="Monthly", settings={"type": "orders", "format": "csv"})
    schedule = ExportSchedule(project_id=olga.project.id, owner_id=olga.user.id, rule="daily", local_time="06:00",
                              settings={"type": "orders", "format": "csv"}, next_run_at=utcnow() + timedelta(days=1))
    endpoint = WebhookEndpoint(user_id=olga.user.id, url="https://books.example/olga", events=["export.failed"],
                               secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    session.add_all([preset, schedule, endpoint])
    session.commit()
    return World(olga, export, preset, schedule, endpoint, client)


def _path(template: str, project_id: int, export_id: int, world: World | None = None) -> str:
    """The route with `world`'s ids of olga's (None: ids that do not exist)."""
    ids = {"preset_id": world.preset.id, "schedule_id": world.schedule.id,
           "endpoint_id": world.endpoint.id} if world else {}
    for name in ("preset_id", "schedule_id", "endpoint_id"):
        template = template.replace(f"{{{name}}}", str(ids.get(name, MISSING)))
    return (template.replace("{project_id}", str(project_id)).replace("{export_id}", str(export_id))
            .replace("{rest:path}", "nowhere"))


def _call(client: TestClient, method: str, path: str) -> Response:
    if method == "MOUNT":
        return client.get(f"{path}/style.css", follow_redirects=False)
    if method == "GET":
        return client.get(path, follow_redirects=False)
    token = csrf_of(client.get("/web/projects")) if "crowdexports_session" in client.cookies else "none"
    return client.post(path, data=FORM | {"csrf": token}, follow_redirects=False)


def _snapshot(session: Session, world: World) -> list[Any]:
    """Everything a form could change that is not the poster's own: exports, their history, olga's session."""
    session.expire_all()
    return [session.execute(select(Export.id, Export.status, Export.finished_at)).all(),
            session.execute(select(ExportEvent.id, ExportEvent.kind)).all(),
            session.execute(select(ExportPreset.id, ExportPreset.name, ExportPreset.settings)).all(),
            session.execute(select(ExportSchedule.id, ExportSchedule.paused)
                            .where(ExportSchedule.owner_id == world.olga.user.id)).all(),
            session.execute(select(WebhookEndpoint.id).where(WebhookEndpoint.user_id == world.olga.user.id)).all(),
            session.execute(select(WebSession.id, WebSession.lang, WebSession.revoked_at)
                            .where(WebSession.user_id == world.olga.user.id)).all()]


def _masked(answer: Response, path: str) -> str:
    return answer.text.replace(path, "PATH")


def test_every_web_route_is_in_the_matrix(client: TestClient) -> None:
    """Read from the app (FastAPI's `iter_route_contexts` sees inside included routers): a new route under
    /web fails here until ROUTES says who it is for, and the tests below then check it."""
    found = set()
    for route in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        if route.path is None or not (route.path == "/" or route.path.startswith("/web")):
            continue
        if isinstance(route.original_route, Mount):
            found.add(("MOUNT", route.path))
        else:
            found |= {(method, route.path) for method in route.methods or () if method != "HEAD"}
    assert found == set(ROUTES)


@pytest.mark.parametrize(("method", "path"), _cases())
def test_without_a_session(world: World, session: Session, method: str, path: str) -> None:
    """Sign in first (then back to the page asked for); a form posted without a session changes nothing."""
    assert world.olga.project is not None
    before = _snapshot(session, world)
    answer = _call(world.client, method, _path(path, world.olga.project.id, world.export.id, world))
    kind = ROUTES[(method, path)]
    if kind == PUBLIC:
        assert answer.status_code in (200, 400) and "location" not in answer.headers
    elif kind == HOME:
        assert answer.status_code == 303 and answer.headers["location"] == "/web/projects"
    else:
        assert answer.status_code == 303 and answer.headers["location"].startswith("/web/signin?next=/web/")
    assert _snapshot(session, world) == before


@pytest.mark.parametrize(("method", "path"), _cases(PROJECT, STAFF))
def test_another_owner_gets_the_page_of_a_missing_id_and_changes_nothing(world: World, session: Session, method: str,
                                                                        path: str) -> None:
    """boris on olga's project or export, and on a staff page: the answer for an id that does not exist,
    which is the not-found page of an address that does not exist; a form of his changes nothing."""
    assert world.olga.project is not None
    boris = _client_of(world, "boris")
    before = _snapshot(session, world)
    hidden_path = _path(path, world.olga.project.id, world.export.id, world)
    hidden = _call(boris, method, hidden_path)
    assert _snapshot(session, world) == before
    missing_path = _path(path, MISSING, MISSING)
    missing = _call(boris, method, missing_path)
    nowhere = boris.get("/web/nowhere")
    assert hidden.status_code == missing.status_code == nowhere.status_code == 404
    assert _masked(hidden, hidden_path) == _masked(missing, missing_path) == _masked(nowhere, "/web/nowhere")
    assert "Solar Kettle" not in hidden.text and f"Export {world.export.id}" not in hidden.text


@pytest.mark.parametrize(("method", "path"), _cases(SIGNED, method="POST"))
def test_a_form_of_ones_own_session_changes_nothing_of_anyone_elses(world: World, session: Session, method: str,
                                                                     path: str) -> None:
    boris = _client_of(world, "boris")
    before = _snapshot(session, world)
    assert _call(boris, method, path).status_code in (303, 201)  # 201: an endpoint of his, its secret shown
    assert _snapshot(session, world) == before


@pytest.mark.parametrize(("method", "path"), _cases(PROJECT, STAFF))
def test_the_rightful_visitor_is_answered(world: World, session: Session, method: str, path: str) -> None:
    """The other side of the matrix, so that it cannot pass by refusing everyone: the owner on their
    project, staff on the staff pages (and, with the API's rule, on a project's exports but not its form)."""
    assert world.olga.project is not None
    kind = ROUTES[(method, path)]
    visitor = _client_of(world, "olga" if kind == PROJECT else "stella")
    answer = _call(visitor, method, _path(path, world.olga.project.id, world.export.id, world))
    assert answer.status_code == (303 if method == "POST" else 200), answer.text[:300]
    if kind == STAFF and method == "GET":
        assert re.search(r"Export \d+|All exports", answer.text)

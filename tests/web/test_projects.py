"""The owner's pages over the real app: my projects, a project's page (404 to anyone else), the export form
through the API's own create path and limits, and the list as the API gives it."""

from __future__ import annotations

import dataclasses
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from crowdexports.api.app import create_app
from crowdexports.exports import failures, lifecycle
from crowdexports.models import Export, Project, User
from crowdexports.runtime import Runtime
from crowdexports.seed import seed_orders
from tests.web.conftest import Person, csrf_of, make_person, project_of, sign_in


def _ask(client: TestClient, project: Project, **fields: Any) -> Response:
    token = csrf_of(client.get(f"/web/projects/{project.id}"))
    return client.post(f"/web/projects/{project.id}/exports", data={"csrf": token, **fields},
                       follow_redirects=False)


def _request(session: Session, project: Project, user: User) -> Export:
    return lifecycle.request(session, project=project, user=user, type_="orders", format_="csv", columns=None)


def test_my_projects_shows_my_projects_their_orders_and_last_export(signed_in: TestClient, olga: Person,
                                                                    boris: Person, session: Session) -> None:
    seed_orders(session, project_of(olga).id, 12, seed=3)
    _request(session, project_of(olga), olga.user)
    page = signed_in.get("/web/projects").text
    assert "Solar Kettle" in page and "Wind Spoon" not in page
    assert re.search(r'class="number">12</td>', page) and "waiting" in page


def test_another_owners_project_is_the_same_not_found_page_as_a_missing_one(
        signed_in: TestClient, boris: Person) -> None:
    others = signed_in.get(f"/web/projects/{project_of(boris).id}")
    missing = signed_in.get("/web/projects/123456789")
    assert others.status_code == missing.status_code == 404
    assert others.text.replace(str(project_of(boris).id), "") == missing.text.replace("123456789", "")
    assert "Wind Spoon" not in others.text
    assert signed_in.get(f"/web/projects/{project_of(boris).id}/exports").status_code == 404
    refused = signed_in.post(f"/web/projects/{project_of(boris).id}/exports",
                             data={"csrf": csrf_of(signed_in.get("/web/projects")), "format": "csv"})
    assert refused.status_code == 404


def test_the_form_asks_for_picked_renamed_and_ordered_columns(signed_in: TestClient, olga: Person,
                                                              session: Session, dispatched: list[int]) -> None:
    answer = _ask(signed_in, project_of(olga), format="csv", csv_dialect="excel_eu",
                  column=["order.id", "order.total", "user.email"],
                  **{"header.order.id": "Order", "header.order.total": "Paid", "header.user.email": "Mail",
                     "position.order.id": "2", "position.order.total": "1", "position.user.email": "3",
                     "header.order.status": "not ticked: left out"})
    assert answer.status_code == 303
    export = session.scalars(select(Export)).one()
    assert list((export.columns or {}).items()) == [("order.total", "Paid"), ("order.id", "Order"),
                                                    ("user.email", "Mail")]
    assert export.options == {"format": {"dialect": "excel_eu"}, "type": {"filters": {}, "layout": "items"}}
    assert dispatched == [export.id]
    assert answer.headers["location"] == f"/web/projects/{project_of(olga).id}?asked={export.id}"


def test_the_form_as_shown_asks_for_the_default_columns(signed_in: TestClient, olga: Person,
                                                        session: Session) -> None:
    page = signed_in.get(f"/web/projects/{project_of(olga).id}").text
    fields = dict(re.findall(r'name="((?:header|position)\.[^"]+)" value="([^"]*)"', page))
    ticked = re.findall(r'name="column" value="([^"]+)" checked', page)
    assert len(ticked) == 41 == len(fields) / 2  # the whole catalogue, preselected
    # The date's header names the project's zone, and sent back as shown it still means "the defaults".
    assert fields["header.order.created_at"] == f"Order date ({project_of(olga).timezone})"
    assert _ask(signed_in, project_of(olga), format="xlsx", csv_dialect="rfc4180", column=ticked,
                **fields).status_code == 303
    export = session.scalars(select(Export)).one()
    assert export.format == "xlsx" and export.columns is None  # no dialect for xlsx, the type's defaults


def test_a_refused_form_comes_back_with_the_problem_and_the_choices(signed_in: TestClient, olga: Person,
                                                                    session: Session) -> None:
    answer = _ask(signed_in, project_of(olga), format="csv", column=["order.id"], **{"header.order.id": " "})
    assert answer.status_code == 400
    assert "header must not be empty" in answer.text
    assert session.scalars(select(Export)).first() is None


def test_the_projects_cap_of_active_exports_applies_to_the_form(runtime: Runtime, olga: Person,
                                                                session: Session) -> None:
    capped = dataclasses.replace(runtime, settings=runtime.settings.model_copy(
        update={"max_active_exports_per_project": 1}))
    with TestClient(create_app(capped, lambda export_id: None)) as client:
        sign_in(client, "olga")
        assert _ask(client, project_of(olga), format="csv", column=["order.id"],
                    **{"header.order.id": "Id"}).status_code == 303
        refused = _ask(client, project_of(olga), format="csv", column=["order.id"], **{"header.order.id": "Id"})
    assert refused.status_code == 429 and "wait for one to finish" in refused.text
    assert len(session.scalars(select(Export)).all()) == 1


def test_the_list_shows_the_apis_progress_numbers(signed_in: TestClient, olga: Person, session: Session) -> None:
    export = _request(session, project_of(olga), olga.user)
    claim = lifecycle.claim(session, export.id, worker="test", lease_seconds=30, max_attempts=3)
    assert claim is not None
    lifecycle.renew(session, claim, lease_seconds=30, rows_done=120, rows_estimated=480)
    part = signed_in.get(f"/web/projects/{project_of(olga).id}/exports").text
    assert re.search(r'<progress max="480" value="120"', part) and "120 of 480 rows" in part
    assert 'hx-trigger="every 1s"' in part  # still live: the part asks for itself again
    lifecycle.fail(session, claim, "the disk is full")
    part = signed_in.get(f"/web/projects/{project_of(olga).id}/exports").text
    assert "<progress" not in part and "the disk is full" in part and "hx-trigger" not in part


def test_the_list_pages_like_the_api(signed_in: TestClient, olga: Person, session: Session) -> None:
    ids = [_request(session, project_of(olga), olga.user).id for _ in range(23)]
    first = signed_in.get(f"/web/projects/{project_of(olga).id}").text
    shown = [int(found) for found in re.findall(r'data-export-id="(\d+)"', first)]
    assert shown == ids[::-1][:20]
    older = re.search(r'href="(/web/projects/\d+\?since=[0-9.]+)">Older exports', first)
    assert older is not None
    second = signed_in.get(older.group(1)).text
    assert [int(found) for found in re.findall(r'data-export-id="(\d+)"', second)] == ids[::-1][20:]
    assert "Newest exports" in second and "Older exports" not in second


@pytest.mark.parametrize(("timezone", "lang", "shown"), [
    ("America/New_York", "en", "Eastern Time"), ("Europe/Paris", "fr", "heure d’Europe centrale")])
def test_times_are_in_the_projects_zone_and_the_zone_is_named(client: TestClient, session: Session, timezone: str,
                                                              lang: str, shown: str) -> None:
    person = make_person(session, "tess", lang=lang, timezone=timezone)
    export = _request(session, project_of(person), person.user)
    sign_in(client, "tess")
    page = client.get(f"/web/projects/{project_of(person).id}").text
    assert timezone in page and shown in page
    local = export.created_at.astimezone(ZoneInfo(timezone))
    assert local.strftime("%H:%M:%S").lstrip("0") in page or local.strftime("%I:%M:%S").lstrip("0") in page


def test_staff_see_another_owners_exports_without_the_form(client: TestClient, olga: Person,
                                                           session: Session) -> None:
    """The API's rule: staff may read a project's exports, only its owner may ask for one."""
    _request(session, project_of(olga), olga.user)
    make_person(session, "stella", is_staff=True, project=None)
    sign_in(client, "stella")
    page = client.get(f"/web/projects/{project_of(olga).id}")
    assert page.status_code == 200 and 'data-export-id="' in page.text and "Ask for the export" not in page.text
    assert _ask(client, project_of(olga), format="csv").status_code == 404


def test_a_failure_reason_is_in_the_owners_language(client: TestClient, session: Session) -> None:
    francine = make_person(session, "francine", lang="fr")
    export = _request(session, project_of(francine), francine.user)
    claim = lifecycle.claim(session, export.id, worker="test", lease_seconds=30, max_attempts=3)
    assert claim is not None and lifecycle.fail(session, claim, failures.worker_lost(3))
    sign_in(client, "francine")
    part = client.get(f"/web/projects/{project_of(francine).id}/exports").text
    assert "son traitement s’est arrêté 3 fois" in part and "its worker stopped" not in part

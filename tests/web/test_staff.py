"""The staff pages over the real app: every project's exports and their filters, an export with its
history, and cancelling it after a confirmation through the API's own function, refusals said on the page."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crowdexports.exports import lifecycle
from crowdexports.models import Export, ExportEvent, User
from crowdexports.web import headers
from tests.web.conftest import Person, csrf_of, make_person, project_of, sign_in


def _request(session: Session, person: Person) -> Export:
    return lifecycle.request(session, project=project_of(person), user=person.user, type_="orders", format_="csv",
                             columns=None)


def _running(session: Session, person: Person) -> Export:
    export = _request(session, person)
    assert lifecycle.claim(session, export.id, worker="w1", lease_seconds=60, max_attempts=3) is not None
    return export


def _succeeded(session: Session, person: Person) -> Export:
    export = _request(session, person)
    claim = lifecycle.claim(session, export.id, worker="w1", lease_seconds=60, max_attempts=3)
    assert claim is not None and lifecycle.succeed(session, claim, storage_key="k", file_name="f.csv", size=10,
                                                   row_count=3, sha256="0" * 64,
                                                   expires_at=datetime.now(UTC) + timedelta(days=1))
    return export


def _listed(client: TestClient, **params: str) -> list[int]:
    answer = client.get("/web/staff/exports", params=params)
    assert answer.status_code == 200
    return [int(found) for found in re.findall(r'data-export-id="(\d+)"', answer.text)]


@pytest.fixture
def stella(client: TestClient, session: Session) -> TestClient:
    make_person(session, "stella", is_staff=True, project=None)
    assert sign_in(client, "stella").status_code == 303
    return client


def test_staff_see_every_owners_exports_newest_first_and_the_link_to_them(
        stella: TestClient, olga: Person, boris: Person, session: Session) -> None:
    ids = [_request(session, olga).id, _request(session, boris).id, _running(session, olga).id]
    page = stella.get("/web/staff/exports").text
    assert [int(found) for found in re.findall(r'data-export-id="(\d+)"', page)] == ids[::-1]
    assert "Solar Kettle" in page and "Wind Spoon" in page and ">boris<" in page and ">olga<" in page
    assert '<a href="/web/staff/exports"' in page and "All exports" in page


def test_each_filter_narrows_and_they_combine(stella: TestClient, olga: Person, boris: Person,
                                              session: Session) -> None:
    waiting_a, running_a = _request(session, olga).id, _running(session, olga).id
    waiting_b = _request(session, boris).id
    old = _request(session, boris)
    session.execute(update(Export).where(Export.id == old.id).values(created_at=datetime(2020, 3, 1, 12, tzinfo=UTC)))
    session.commit()
    today = datetime.now(UTC).date().isoformat()
    assert _listed(stella, status="processing") == [running_a]
    assert _listed(stella, project=str(project_of(olga).id)) == [running_a, waiting_a]
    assert _listed(stella, owner="boris") == [waiting_b, old.id]
    assert _listed(stella, created_from="2020-03-01", created_to="2020-03-01") == [old.id]
    assert _listed(stella, created_to="2020-02-29") == []
    assert _listed(stella, created_from=today) == [waiting_b, running_a, waiting_a]
    assert _listed(stella, status="waiting", owner="olga") == [waiting_a]
    assert _listed(stella, status="waiting", created_from=today, project=str(project_of(boris).id)) == [waiting_b]


@pytest.mark.parametrize(("params", "message"), [
    ({"created_from": "yesterday"}, "Not a date"), ({"status": "lost"}, "Not an export status"),
    ({"project": "abc"}, "Not a project id"), ({"created_from": "2026-02-02", "created_to": "2026-02-01"},
                                               "before the first one")])
def test_a_bad_filter_is_a_message_on_the_page_and_is_not_applied(stella: TestClient, olga: Person,
                                                                  session: Session, params: dict[str, str],
                                                                  message: str) -> None:
    export = _request(session, olga)
    answer = stella.get("/web/staff/exports", params=params)
    assert answer.status_code == 200 and message in answer.text and 'aria-invalid="true"' in answer.text
    assert f'data-export-id="{export.id}"' in answer.text or "created_to" in params


@pytest.mark.parametrize("params", [{"before": "9" * 30}, {"before": "x"}, {"created_to": "9999-12-31"},
                                    {"created_from": "0001-01-01", "project": "9" * 30}])
def test_extreme_values_are_answered_not_failed(stella: TestClient, olga: Person, session: Session,
                                                params: dict[str, str]) -> None:
    export = _request(session, olga)
    answer = stella.get("/web/staff/exports", params=params)
    assert answer.status_code == 200 and (f'data-export-id="{export.id}"' in answer.text or "project" in params)


def test_the_list_pages_on_time_and_id(stella: TestClient, olga: Person, boris: Person, session: Session,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A page a row long, so that every cursor is tried, one of them between two exports of one instant."""
    monkeypatch.setattr("crowdexports.web.staff_exports.PAGE_SIZE", 1)
    ids = [_request(session, person).id for person in (olga, boris) * 2]
    same = datetime(2026, 1, 1, tzinfo=UTC)  # one instant for two projects: the id breaks the tie
    session.execute(update(Export).where(Export.id.in_(ids[:2])).values(created_at=same))
    session.commit()
    shown, path = [], "/web/staff/exports?status=waiting"
    for _ in range(len(ids) + 1):  # bounded: a cursor that goes round in circles fails, not hangs
        page = stella.get(path).text
        shown += [int(found) for found in re.findall(r'data-export-id="(\d+)"', page)]
        older = re.search(r'href="(/web/staff/exports\?[^"]+)">Older exports', page)
        if older is None:
            break
        path = older.group(1).replace("&amp;", "&")
        assert "status=waiting" in path and "Newest exports" in stella.get(path).text
    assert shown == [ids[3], ids[2], ids[1], ids[0]]


def test_owners_get_the_not_found_page_of_a_missing_address(signed_in: TestClient, olga: Person,
                                                            session: Session) -> None:
    export = _request(session, olga)
    missing = signed_in.get("/web/staff/nowhere")
    for path in ("/web/staff/exports", f"/web/staff/exports/{export.id}", f"/web/staff/exports/{export.id}/cancel"):
        answer = signed_in.get(path)
        assert answer.status_code == missing.status_code == 404
        assert answer.text.replace(path, "") == missing.text.replace("/web/staff/nowhere", "")
    assert "All exports" not in signed_in.get("/web/projects").text


def test_the_export_page_shows_the_apis_numbers_and_the_history(stella: TestClient, olga: Person,
                                                                session: Session) -> None:
    export = _succeeded(session, olga)
    page = stella.get(f"/web/staff/exports/{export.id}").text
    assert "Solar Kettle" in page and "<dd>olga</dd>" in page and "<dd>3</dd>" in page and "10 bytes" in page
    assert "/download" in page and "Cancel export" not in page
    kinds = re.findall(r"<td><code>([a-z_]+)</code></td>", page)
    assert kinds == ["requested", "claimed", "succeeded"] and "attempt 1 by w1" in page
    assert "Europe/Paris" in page and stella.get("/web/staff/exports/987654").status_code == 404


def test_the_confirmation_carries_a_token_and_a_way_back(stella: TestClient, olga: Person, session: Session) -> None:
    export = _running(session, olga)
    assert f'href="/web/staff/exports/{export.id}/cancel"' in stella.get(f"/web/staff/exports/{export.id}").text
    page = stella.get(f"/web/staff/exports/{export.id}/cancel")
    assert page.status_code == 200 and f"Cancel export {export.id} of project Solar Kettle?" in page.text
    assert re.search(rf'<form method="post" action="/web/staff/exports/{export.id}/cancel"[^>]*>\s*'
                     r'<input type="hidden" name="csrf" value="[0-9a-f]{64}">', page.text)
    assert f'<a href="/web/staff/exports/{export.id}">Keep it</a>' in page.text


@pytest.mark.parametrize("token", [None, "0" * 64])
def test_a_cancel_without_the_forms_token_is_refused_and_changes_nothing(stella: TestClient, olga: Person,
                                                                         session: Session, token: str | None) -> None:
    export = _request(session, olga)
    answer = stella.post(f"/web/staff/exports/{export.id}/cancel", data={"csrf": token} if token else {})
    assert answer.status_code == 403 and "Form expired" in answer.text
    session.refresh(export)
    assert export.status == "waiting"


@pytest.mark.parametrize("make", [_request, _running])
def test_staff_cancel_a_waiting_or_running_export(stella: TestClient, olga: Person, session: Session,
                                                  make: Callable[[Session, Person], Export]) -> None:
    export = make(session, olga)
    token = csrf_of(stella.get(f"/web/staff/exports/{export.id}/cancel"))
    answer = stella.post(f"/web/staff/exports/{export.id}/cancel", data={"csrf": token}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"/web/staff/exports/{export.id}?canceled=1"
    session.refresh(export)
    assert export.status == "canceled"
    staff_id = session.scalars(select(User.id).where(User.username == "stella")).one()
    events = session.scalars(select(ExportEvent.detail).where(ExportEvent.export_id == export.id,
                                                              ExportEvent.kind == "canceled")).all()
    assert events == [f"by user {staff_id}"]
    page = stella.get(answer.headers["location"]).text
    assert f"Export {export.id} canceled." in page and 'data-status="canceled"' in page


def test_a_cancel_too_late_is_a_message_on_the_exports_page(stella: TestClient, olga: Person,
                                                            session: Session) -> None:
    export = _running(session, olga)
    token = csrf_of(stella.get(f"/web/staff/exports/{export.id}/cancel"))
    claim = lifecycle.Claim(export.id, 1, "w1")
    assert lifecycle.succeed(session, claim, storage_key="k", file_name="f.csv", size=10, row_count=3,
                             sha256="0" * 64, expires_at=datetime.now(UTC) + timedelta(days=1))
    answer = stella.post(f"/web/staff/exports/{export.id}/cancel", data={"csrf": token})
    assert answer.status_code == 409 and "<h1>Export" in answer.text
    assert f"Export {export.id} was not canceled: it is already ready." in answer.text
    session.refresh(export)
    assert export.status == "succeeded"
    assert "there is nothing to cancel" in stella.get(f"/web/staff/exports/{export.id}/cancel").text


def test_the_staff_pages_speak_french(client: TestClient, olga: Person, session: Session) -> None:
    export = _running(session, olga)
    make_person(session, "stephane", lang="fr", is_staff=True, project=None)
    sign_in(client, "stephane")
    listing = client.get("/web/staff/exports", params={"created_from": "hier"}).text
    assert '<html lang="fr">' in listing and "Tous les exports" in listing and "Pas une date" in listing
    assert "en cours" in listing
    detail = client.get(f"/web/staff/exports/{export.id}").text
    assert "Historique" in detail and "heure d’Europe centrale" in detail and "Annuler l’export" in detail
    assert "Annuler l’export" in client.get(f"/web/staff/exports/{export.id}/cancel").text


def test_the_staff_pages_have_the_pages_headers_and_no_inline_script_or_style(stella: TestClient, olga: Person,
                                                                              session: Session) -> None:
    export = _running(session, olga)
    for path in ("/web/staff/exports", f"/web/staff/exports/{export.id}", f"/web/staff/exports/{export.id}/cancel"):
        answer = stella.get(path)
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["content-security-policy"] == headers.CONTENT_SECURITY_POLICY
        assert not re.search(r"<script(?![^>]*\bsrc=)", answer.text) and " style=" not in answer.text

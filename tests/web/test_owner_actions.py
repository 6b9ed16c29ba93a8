"""Issue 15 on the page: the export form's hidden Idempotency-Key (a form sent twice makes one export), and
the owner's Cancel (after a confirmation) and Retry buttons on their project's exports."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from crowdexports.exports import lifecycle
from crowdexports.models import Export, utcnow
from tests.web.conftest import Person, csrf_of, project_of

FORM = {"format": "csv", "csv_dialect": "rfc4180", "column": ["order.id"], "header.order.id": "Id"}


def _key_of(page: str) -> str:
    found = re.search(r'name="idempotency_key" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def _post(client: TestClient, path: str, **fields: Any) -> Response:
    return client.post(path, data={"csrf": csrf_of(client.get("/web/projects")), **fields}, follow_redirects=False)


def _exports(session: Session) -> list[Export]:
    session.expire_all()
    return list(session.scalars(select(Export).order_by(Export.id)))


def test_a_form_sent_twice_makes_one_export(signed_in: TestClient, olga: Person, session: Session,
                                            dispatched: list[int]) -> None:
    page = signed_in.get(f"/web/projects/{project_of(olga).id}").text
    key = _key_of(page)
    assert _key_of(signed_in.get(f"/web/projects/{project_of(olga).id}").text) != key  # fresh each time shown
    path = f"/web/projects/{project_of(olga).id}/exports"
    first, second = (_post(signed_in, path, idempotency_key=key, **FORM) for _ in range(2))
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert len(_exports(session)) == 1 and len(dispatched) == 1


def test_a_form_sent_again_with_other_choices_says_so(signed_in: TestClient, olga: Person, session: Session) -> None:
    key = _key_of(signed_in.get(f"/web/projects/{project_of(olga).id}").text)
    path = f"/web/projects/{project_of(olga).id}/exports"
    assert _post(signed_in, path, idempotency_key=key, **FORM).status_code == 303
    again = _post(signed_in, path, idempotency_key=key, **(FORM | {"format": "xlsx"}))
    assert again.status_code == 422 and "This form was sent already" in again.text
    assert _key_of(again.text) != key and len(_exports(session)) == 1


def test_the_owner_cancels_after_a_confirmation(signed_in: TestClient, olga: Person, session: Session) -> None:
    project = project_of(olga)
    export = lifecycle.request(session, project=project, user=olga.user, type_="orders", format_="csv",
                               columns=None)
    listed = signed_in.get(f"/web/projects/{project.id}").text
    confirm_path = f"/web/projects/{project.id}/exports/{export.id}/cancel"
    assert f'href="{confirm_path}"' in listed
    question = signed_in.get(confirm_path)
    assert question.status_code == 200 and f"Cancel export {export.id} of project Solar Kettle?" in question.text
    assert _exports(session)[0].status == "waiting"  # asking is not cancelling
    done = _post(signed_in, confirm_path)
    assert done.status_code == 303 and done.headers["location"] == f"/web/projects/{project.id}?canceled={export.id}"
    assert _exports(session)[0].status == "canceled"
    assert f"Export {export.id} is canceled" in signed_in.get(done.headers["location"]).text
    late = _post(signed_in, confirm_path)
    assert late.headers["location"] == f"/web/projects/{project.id}?unchanged={export.id}"
    assert "there is nothing to cancel" in signed_in.get(confirm_path).text


def test_the_owner_retries_a_canceled_export(signed_in: TestClient, olga: Person, session: Session,
                                             dispatched: list[int]) -> None:
    project = project_of(olga)
    export = lifecycle.request(session, project=project, user=olga.user, type_="orders", format_="xlsx",
                               columns={"order.id": "Id"})
    retry_path = f"/web/projects/{project.id}/exports/{export.id}/retry"
    assert retry_path not in signed_in.get(f"/web/projects/{project.id}").text  # waiting: nothing to retry
    lifecycle.cancel(session, export, by_user_id=olga.user.id)
    assert f'action="{retry_path}"' in signed_in.get(f"/web/projects/{project.id}/exports").text
    done = _post(signed_in, retry_path)
    old, new = _exports(session)
    assert done.headers["location"] == f"/web/projects/{project.id}?asked={new.id}" and dispatched == [new.id]
    assert (new.format, new.columns, new.retry_of, new.status) == ("xlsx", {"order.id": "Id"}, old.id, "waiting")
    page = signed_in.get(done.headers["location"]).text
    assert f"Retry of export {old.id}" in page and f"Retried as export {new.id}" in page


def test_a_retry_of_a_column_gone_says_why(signed_in: TestClient, olga: Person, session: Session) -> None:
    project = project_of(olga)
    export = lifecycle.request(session, project=project, user=olga.user, type_="orders", format_="csv",
                               columns={"order.gone": "Gone"})
    lifecycle.cancel(session, export, by_user_id=olga.user.id)
    refused = _post(signed_in, f"/web/projects/{project.id}/exports/{export.id}/retry")
    assert refused.status_code == 400 and "cannot be made again as it was: unknown column" in refused.text
    assert len(_exports(session)) == 1


def test_an_export_under_another_project_is_not_found(
        signed_in: TestClient, olga: Person, boris: Person, session: Session) -> None:
    export = lifecycle.request(session, project=project_of(olga), user=olga.user, type_="orders", format_="csv",
                               columns=None)
    wrong_project = f"/web/projects/{project_of(boris).id}/exports/{export.id}/cancel"
    assert signed_in.get(wrong_project).status_code == 404
    assert _post(signed_in, wrong_project).status_code == 404
    assert _exports(session)[0].status == "waiting"


def test_a_made_file_shows_its_checksum_on_the_exports_page(signed_in: TestClient, olga: Person,
                                                            session: Session) -> None:
    project = project_of(olga)
    export = lifecycle.request(session, project=project, user=olga.user, type_="orders", format_="csv", columns=None)
    claim = lifecycle.claim(session, export.id, worker="w1", lease_seconds=60, max_attempts=3)
    digest = "ab" * 32
    assert claim is not None and lifecycle.succeed(session, claim, storage_key="k", file_name="f.csv", size=10,
                                                   row_count=3, sha256=digest, expires_at=utcnow() + timedelta(days=1))
    page = signed_in.get(f"/web/projects/{project.id}/exports").text
    assert f"<code title=\"Compare with sha256sum of the downloaded file\">{digest}</code>" in page

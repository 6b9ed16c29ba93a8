"""GET /v1/projects/{id}/exports: newest first, keyset pages that never skip nor repeat, strict params."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crowdexports.api.schemas import ExportPage
from crowdexports.models import Export, Project
from tests.api.conftest import Account, request_export

SECOND = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def fifty_in_one_second(session: Session, project_a: Project, project_b: Project, alice: Account,
                        bob: Account) -> list[Export]:
    """50 exports of A within one second, inserted in shuffled order so ids do not follow time, and
    B's exports at the very same instants (they must never show up in A's list)."""
    offsets = random.Random(7).sample(range(0, 999_999, 997), 50)
    exports = []
    for offset in offsets:
        moment = SECOND + timedelta(microseconds=offset)
        exports.append(Export(project_id=project_a.id, user_id=alice.user.id, type="orders", format="csv",
                              created_at=moment))
        session.add(Export(project_id=project_b.id, user_id=bob.user.id, type="orders", format="csv",
                           created_at=moment))
    session.add_all(exports)
    session.commit()
    return sorted(exports, key=lambda export: export.created_at, reverse=True)


def test_paging_yields_every_export_once_newest_first(client: TestClient, project_a: Project, alice: Account,
                                                      fifty_in_one_second: list[Export]) -> None:
    seen: list[int] = []
    query, pages = "?limit=20", 0
    while query:
        response = client.get(f"/v1/projects/{project_a.id}/exports{query}", headers=alice.apikey)
        assert response.status_code == 200
        page = response.json()
        ExportPage.model_validate(page)
        assert page["meta"]["limit"] == 20
        seen += [export["id"] for export in page["exports"]]
        query, pages = page["meta"]["next"], pages + 1
    assert pages == 3
    assert seen == [export.id for export in fifty_in_one_second]


def test_since_is_strictly_before_at_microsecond_precision(client: TestClient, project_a: Project,
                                                           alice: Account,
                                                           fifty_in_one_second: list[Export]) -> None:
    pivot = fifty_in_one_second[10]
    whole = (pivot.created_at - datetime(1970, 1, 1, tzinfo=UTC))
    seconds = f"{whole.days * 86400 + whole.seconds}.{whole.microseconds:06d}"

    def first_before(since: str) -> object:
        page = client.get(f"/v1/projects/{project_a.id}/exports?limit=1&since={since}", headers=alice.apikey)
        return page.json()["exports"][0]["id"] if page.json()["exports"] else None

    assert first_before(seconds) == fifty_in_one_second[11].id
    # A finer fraction just after the pivot's instant still counts the pivot as "before".
    assert first_before(seconds + "001") == pivot.id
    assert first_before("0") is None


def test_exports_made_by_the_api_one_after_another_page_exactly(client: TestClient, session: Session,
                                                                 project_a: Project, alice: Account) -> None:
    made = [request_export(session, project_a, alice.user).id for _ in range(7)]
    first = client.get(f"/v1/projects/{project_a.id}/exports?limit=4", headers=alice.apikey).json()
    second = client.get(f"/v1/projects/{project_a.id}/exports{first['meta']['next']}",
                        headers=alice.apikey).json()
    assert [e["id"] for e in first["exports"] + second["exports"]] == made[::-1]
    assert second["meta"]["next"] is None


@pytest.mark.parametrize(("limit", "expected"), [(None, 20), ("1", 1), ("20", 20), ("21", 20), ("1000", 20),
                                                 ("99999999999999999999999", 20), ("007", 7)])
def test_limit_defaults_to_20_and_is_clamped(client: TestClient, project_a: Project, alice: Account,
                                             fifty_in_one_second: list[Export], limit: str | None,
                                             expected: int) -> None:
    query = "" if limit is None else f"?limit={limit}"
    page = client.get(f"/v1/projects/{project_a.id}/exports{query}", headers=alice.apikey).json()
    assert page["meta"]["limit"] == expected and len(page["exports"]) == expected
    assert page["meta"]["next"].startswith(f"?limit={expected}&since=")


@pytest.mark.parametrize(("name", "value"), [
    ("limit", "0"), ("limit", "-1"), ("limit", "x"), ("limit", ""), ("limit", "1.5"), ("limit", "²"),
    ("limit", "000"), ("since", "nan"), ("since", "NaN"), ("since", "inf"), ("since", "1e309"),
    ("since", "1e3"), ("since", "-1"), ("since", "abc"), ("since", ""), ("since", "1.2.3"), ("since", " 5"),
    ("since", "1_000"),
    ("since", "999999999999"), ("since", "253402300799.9999999"), ("since", "1" * 5000),
])
def test_bad_limit_or_since_is_a_400_value_error(client: TestClient, project_a: Project, alice: Account,
                                                 name: str, value: str) -> None:
    response = client.get(f"/v1/projects/{project_a.id}/exports", params={name: value}, headers=alice.apikey)
    assert response.status_code == 400
    assert response.json()["errors"] == [{"classification": "ValueError", "fieldNames": [name],
                                          "message": response.json()["errors"][0]["message"]}]


@pytest.mark.parametrize("project_id", ["abc", "-3", "99999999999999999999", "9223372036854775808"])
def test_bad_project_ids_are_404(client: TestClient, alice: Account, project_id: str) -> None:
    response = client.get(f"/v1/projects/{project_id}/exports", headers=alice.apikey)
    assert response.status_code == 404
    assert response.json()["errors"][0]["classification"] == "NotFoundError"

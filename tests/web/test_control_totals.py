"""The export's control totals (issue 16, point 2) on the owner's exports page and the staff export page, in
the reader's language."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crowdexports.exports import lifecycle
from crowdexports.models import Export, Project, User, utcnow
from tests.control_totals import SUMMARY, SUMMARY_LINES
from tests.web.conftest import make_person, sign_in


def _succeeded(session: Session, project: Project, user: User) -> Export:
    export = lifecycle.request(session, project=project, user=user, type_="orders", format_="csv", columns=None)
    claim = lifecycle.claim(session, export.id, worker="w1", lease_seconds=60, max_attempts=3)
    assert claim is not None and lifecycle.succeed(
        session, claim, storage_key="k", file_name="f.csv", size=10, row_count=3, sha256="0" * 64,
        expires_at=utcnow() + timedelta(days=1), summary=SUMMARY)
    return export


def _in_order(page: str, lang: str) -> None:
    text = html.unescape(page)
    positions = [text.find(line) for line in SUMMARY_LINES[lang]]
    assert -1 not in positions and positions == sorted(positions), positions


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_owner_and_staff_see_the_totals_in_their_language(client: TestClient, session: Session,
                                                             lang: str) -> None:
    owner = make_person(session, f"owner{lang}", lang=lang)
    assert owner.project is not None
    export = _succeeded(session, owner.project, owner.user)
    assert sign_in(client, owner.user.username).status_code == 303
    _in_order(client.get(f"/web/projects/{owner.project.id}/exports").text, lang)
    make_person(session, f"staff{lang}", lang=lang, is_staff=True, project=None)
    client.cookies.clear()  # signed out
    assert sign_in(client, f"staff{lang}").status_code == 303
    _in_order(client.get(f"/web/staff/exports/{export.id}").text, lang)


def test_an_export_without_totals_shows_none(client: TestClient, session: Session) -> None:
    owner = make_person(session, "olga")
    assert owner.project is not None
    lifecycle.request(session, project=owner.project, user=owner.user, type_="orders", format_="csv", columns=None)
    assert sign_in(client, "olga").status_code == 303
    assert "Control totals" not in client.get(f"/web/projects/{owner.project.id}/exports").text

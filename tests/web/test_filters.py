"""The export form's filters (issue 15): plain controls that post the API's `filters` (the last day the
owner picks included), refused ones shown again with the API's problem, and each export's filters said
in words in the list, in the page's language."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from crowdexports.exports import lifecycle
from crowdexports.models import Export
from tests.web.conftest import Person, ask_csv, make_person, project_of, sign_in


def test_the_form_shows_every_filter_with_a_label(signed_in: TestClient, olga: Person) -> None:
    page = signed_in.get(f"/web/projects/{project_of(olga).id}").text
    assert re.findall(r'name="status" value="([^"]+)"', page) == [
        "processing", "awaiting-confirmation", "payment-completed", "cancelled", "payment-done", "payment-invalid",
        "payment-reimbursed", "error"]
    for control in ("created-from", "created-until", "country", "has-shipping-address", "reward-ids"):
        assert f'<label for="{control}">' in page and f'id="{control}"' in page
    assert 'type="date" id="created-from"' in page and 'type="date" id="created-until"' in page


def test_the_form_posts_the_apis_filters(signed_in: TestClient, olga: Person, session: Session) -> None:
    answer = ask_csv(signed_in, project_of(olga), status=["payment-completed", "payment-done"],
                  created_from="2026-11-01", created_until="2026-11-30", country="fr, be",
                  has_shipping_address="yes", reward_ids="7 8")
    assert answer.status_code == 303, answer.text
    export = session.scalars(select(Export)).one()
    assert (export.options or {})["type"] == {"filters": {
        "status": ["payment-completed", "payment-done"], "created": {"from": "2026-11-01", "to": "2026-12-01"},
        "country": ["FR", "BE"], "has_shipping_address": True, "reward_ids": [7, 8]}, "layout": "items"}


def test_empty_filter_fields_ask_for_every_row(signed_in: TestClient, olga: Person, session: Session) -> None:
    answer = ask_csv(signed_in, project_of(olga), created_from="", created_until="", country=" ",
                  has_shipping_address="any", reward_ids="")
    assert answer.status_code == 303, answer.text
    assert (session.scalars(select(Export)).one().options or {})["type"] == {"filters": {}, "layout": "items"}


def test_a_refused_filter_comes_back_with_the_problem_and_what_was_typed(signed_in: TestClient, olga: Person,
                                                                         session: Session) -> None:
    answer = ask_csv(signed_in, project_of(olga), status=["cancelled"], created_from="2026-11-30",
                  created_until="2026-11-01", country="France", reward_ids="7, seven")
    assert answer.status_code == 400
    for problem in ("filters.created: is empty", "filters.country: must hold only ISO", "filters.reward_ids: must be"):
        assert problem in answer.text
    assert 'value="2026-11-30"' in answer.text and 'value="France"' in answer.text
    assert 'value="7, seven"' in answer.text and 'id="status-cancelled" name="status" value="cancelled"' \
        ' aria-describedby="status-help" checked' in answer.text
    assert session.scalars(select(Export)).first() is None


def test_each_export_says_its_filters_in_the_pages_language(client: TestClient, session: Session) -> None:
    anne = make_person(session, "anne", lang="fr")
    project = project_of(anne)
    filters = {"status": ["payment-completed"], "created": {"from": "2026-11-01", "to": "2026-12-01"},
               "country": ["FR"]}
    lifecycle.request(session, project=project, user=anne.user, type_="orders", format_="csv", columns=None,
                      options={"format": {}, "type": {"filters": filters}})
    lifecycle.request(session, project=project, user=anne.user, type_="orders", format_="csv", columns=None)
    assert sign_in(client, "anne").status_code == 303
    page = client.get(f"/web/projects/{project.id}").text
    said = ("Commandes au statut paiement terminé, créées du 1 novembre 2026 au 30 novembre 2026, "
            "livrées vers France.")
    assert page.count('<p class="filters">') == 1 and said in page

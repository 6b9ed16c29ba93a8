"""The export form's row layout (issue 16): a select with one plain sentence per layout, in the page's
language; it posts the API's `layout`, a preset keeps it, and the list says a layout other than items."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from crowdexports.models import Export, ExportPreset
from tests.web.conftest import Person, ask_csv, csrf_of, project_of


def test_the_select_offers_each_layout_in_a_sentence(signed_in: TestClient, olga: Person) -> None:
    page = signed_in.get(f"/web/projects/{project_of(olga).id}").text
    assert '<label for="layout">How orders become rows</label>' in page
    assert ('<option value="items" selected>One row per reward ordered; an order&#39;s total, subtotal and '
            "shipping are on its first row only") in page
    assert '<option value="orders">One row per order: its rewards listed in one cell' in page
    assert '<option value="items_repeated">One row per reward ordered, with the order&#39;s total' in page


def test_the_select_speaks_french(signed_in: TestClient, olga: Person) -> None:
    signed_in.post("/web/language", data={"csrf": csrf_of(signed_in.get("/web/projects")), "lang": "fr",
                                          "next": "/web/projects"})
    page = signed_in.get(f"/web/projects/{project_of(olga).id}").text
    assert "Comment les commandes deviennent des lignes" in page
    assert '<option value="orders">Une ligne par commande : ses contreparties dans une même cellule' in page


def test_the_form_posts_the_layout_and_the_list_says_it(signed_in: TestClient, olga: Person,
                                                       session: Session) -> None:
    project = project_of(olga)
    assert ask_csv(signed_in, project, layout="orders").status_code == 303
    assert (session.scalars(select(Export)).one().options or {})["type"]["layout"] == "orders"
    listed = signed_in.get(f"/web/projects/{project.id}").text
    assert '<p class="layout">One row per order: its rewards listed in one cell' in listed
    refused = ask_csv(signed_in, project, layout="rows")
    assert refused.status_code == 400 and "layout: must be one of: items, orders, items_repeated" in refused.text


def test_a_preset_keeps_the_layout(signed_in: TestClient, olga: Person, session: Session) -> None:
    project = project_of(olga)
    token = csrf_of(signed_in.get(f"/web/projects/{project.id}"))
    saved = signed_in.post(f"/web/projects/{project.id}/presets", data={
        "csrf": token, "name": "Per order", "format": "csv", "column": ["order.id"], "layout": "orders"},
        follow_redirects=False)
    assert saved.status_code == 303, saved.text
    preset = session.scalars(select(ExportPreset)).one()
    assert preset.settings["layout"] == "orders"
    page = signed_in.get(f"/web/projects/{project.id}?preset={preset.id}").text
    assert '<option value="orders" selected>' in page

"""Presets on the export page (issue 15, point 2): listed for the owner and staff, "Use" fills the form
(a link: no JavaScript), the form's settings saved as a preset through the API's own check, "Delete";
only the owner writes."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from crowdexports.models import Export, ExportPreset, Project
from tests.web.conftest import Person, csrf_of, make_person, project_of, sign_in

SETTINGS = {"type": "orders", "format": "xlsx", "columns": {"user.email": "Mail", "order.id": "Order"}}


def _preset(session: Session, project: Project, name: str = "Monthly",
            settings: dict[str, Any] | None = None) -> ExportPreset:
    preset = ExportPreset(project_id=project.id, name=name, settings=settings or SETTINGS)
    session.add(preset)
    session.commit()
    return preset


def _post(client: TestClient, project: Project, path: str, **fields: Any) -> Response:
    token = csrf_of(client.get(f"/web/projects/{project.id}"))
    return client.post(f"/web/projects/{project.id}{path}", data={"csrf": token, **fields}, follow_redirects=False)


def _form_fields(page: str) -> dict[str, Any]:
    """What a browser would post of the export form as shown."""
    fields: dict[str, Any] = dict(re.findall(r'name="((?:header|position)\.[^"]+)" value="([^"]*)"', page))
    fields["column"] = re.findall(r'name="column" value="([^"]+)" checked', page)
    fields["format"] = re.search(r'name="format" value="(\w+)" checked', page).group(1)  # type: ignore[union-attr]
    fields["csv_dialect"] = re.search(r'name="csv_dialect" value="(\w+)"[^>]* checked',  # type: ignore[union-attr]
                                      page).group(1)
    fields["status"] = re.findall(r'name="status" value="([^"]+)"[^>]* checked', page)
    fields |= dict(re.findall(r'name="(created_from|created_until|country|reward_ids)" value="([^"]*)"', page))
    for chosen in ("has_shipping_address", "layout"):
        after = page[page.index(f'name="{chosen}"'):]
        fields[chosen] = re.search(r'<option value="(\w+)" selected', after).group(1)  # type: ignore[union-attr]
    preset = re.search(r'name="preset" value="(\d+)"', page)
    if preset:
        fields["preset"] = preset.group(1)
    return fields


def test_use_fills_the_form_and_the_export_has_the_presets_settings(signed_in: TestClient, olga: Person,
                                                                   session: Session) -> None:
    preset = _preset(session, project_of(olga))
    page = signed_in.get(f"/web/projects/{project_of(olga).id}").text
    assert "Monthly" in page and f'href="/web/projects/{project_of(olga).id}?preset={preset.id}#ask-title"' in page
    filled = signed_in.get(f"/web/projects/{project_of(olga).id}?preset={preset.id}").text
    assert "The form is filled from the preset “Monthly”." in filled
    fields = _form_fields(filled)
    assert fields["format"] == "xlsx" and fields["column"] == ["user.email", "order.id"]
    assert fields["header.user.email"] == "Mail" and fields["preset"] == str(preset.id)
    asked = _post(signed_in, project_of(olga), "/exports", **fields)
    assert asked.status_code == 303, asked.text
    export = session.scalars(select(Export)).one()
    assert export.format == "xlsx" and list((export.columns or {}).items()) == [("user.email", "Mail"),
                                                                                ("order.id", "Order")]


def test_another_projects_preset_is_not_filled_in(signed_in: TestClient, olga: Person, boris: Person,
                                                  session: Session) -> None:
    borises = _preset(session, project_of(boris), name="Boris's")
    page = signed_in.get(f"/web/projects/{project_of(olga).id}?preset={borises.id}").text
    assert "Boris's" not in page and 'name="preset"' not in page and _form_fields(page)["format"] == "csv"


def test_the_form_is_saved_as_a_preset_with_the_body_it_would_ask_for(signed_in: TestClient, olga: Person,
                                                                      session: Session) -> None:
    saved = _post(signed_in, project_of(olga), "/presets", name="Weekly ✨", format="csv", csv_dialect="excel_eu",
                  column=["order.total", "order.id"], **{"header.order.total": "Paid", "position.order.total": "1",
                                                         "header.order.id": "Order", "position.order.id": "2"})
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/web/projects/{project_of(olga).id}?notice=preset-saved"
    preset = session.scalars(select(ExportPreset)).one()
    assert preset.name == "Weekly ✨"
    assert preset.settings == {"type": "orders", "format": "csv", "csv_dialect": "excel_eu",
                               "columns": {"order.total": "Paid", "order.id": "Order"}, "filters": None,
                               "changes_since": None, "layout": "items"}
    assert "The preset is saved" in signed_in.get(saved.headers["location"]).text


def test_a_form_filled_from_a_preset_saves_the_same_settings_again(signed_in: TestClient, olga: Person,
                                                                   session: Session) -> None:
    """The form filled from a preset (its filters in the filter fields: `to` exclusive shown as the last
    day included) and saved as it is gives the preset's settings back."""
    filters = {"status": ["payment-completed"], "created": {"from": "2026-11-01", "to": "2026-12-01"},
               "country": ["FR", "BE"], "has_shipping_address": True}
    preset = _preset(session, project_of(olga), settings={**SETTINGS, "filters": filters})
    fields = _form_fields(signed_in.get(f"/web/projects/{project_of(olga).id}?preset={preset.id}").text)
    assert _post(signed_in, project_of(olga), "/presets", name="Copy", **fields).status_code == 303
    copy = session.scalars(select(ExportPreset).where(ExportPreset.name == "Copy")).one()
    assert copy.settings == {**SETTINGS, "csv_dialect": None, "filters": filters, "changes_since": None,
                             "layout": "items"}


def test_a_refused_preset_comes_back_with_why_and_saves_nothing(signed_in: TestClient, olga: Person,
                                                                session: Session) -> None:
    _preset(session, project_of(olga))
    form = {"format": "csv", "csv_dialect": "rfc4180", "column": ["order.id"], "header.order.id": "Id"}
    blank = _post(signed_in, project_of(olga), "/presets", name=" ", **form)
    assert blank.status_code == 400 and "The preset was not saved:" in blank.text
    assert "name: must not be blank" in blank.text
    taken = _post(signed_in, project_of(olga), "/presets", name="Monthly", **form)
    assert taken.status_code == 409 and "already has an export preset named" in taken.text
    assert 'value="Id"' in taken.text  # the form as left
    assert len(session.scalars(select(ExportPreset)).all()) == 1


def test_delete_removes_the_preset_and_needs_the_forms_token(signed_in: TestClient, olga: Person,
                                                            session: Session) -> None:
    preset_id = _preset(session, project_of(olga)).id
    path = f"/web/projects/{project_of(olga).id}/presets/{preset_id}/delete"
    assert signed_in.post(path, data={"csrf": "forged"}, follow_redirects=False).status_code != 303
    assert session.scalars(select(ExportPreset)).one()
    deleted = _post(signed_in, project_of(olga), f"/presets/{preset_id}/delete")
    assert deleted.status_code == 303 and deleted.headers["location"].endswith("?notice=preset-deleted")
    session.expire_all()
    assert session.scalars(select(ExportPreset)).first() is None
    assert _post(signed_in, project_of(olga), f"/presets/{preset_id}/delete").status_code == 404


def test_staff_see_the_presets_without_use_or_delete(client: TestClient, olga: Person, session: Session) -> None:
    preset = _preset(session, project_of(olga))
    make_person(session, "stella", is_staff=True, project=None)
    assert sign_in(client, "stella").status_code == 303
    page = client.get(f"/web/projects/{project_of(olga).id}?preset={preset.id}").text
    assert "Monthly" in page and "?preset=" not in page and "/delete" not in page and 'name="preset"' not in page
    refused = client.post(f"/web/projects/{project_of(olga).id}/presets/{preset.id}/delete",
                          data={"csrf": csrf_of(client.get("/web/projects"))}, follow_redirects=False)
    assert refused.status_code == 404 and session.scalars(select(ExportPreset)).one()


def test_the_presets_section_speaks_french(client: TestClient, session: Session) -> None:
    french = make_person(session, "francoise", lang="fr")
    _preset(session, project_of(french))
    assert sign_in(client, "francoise").status_code == 303
    page = client.get(f"/web/projects/{project_of(french).id}").text
    assert "Préréglages" in page and "Enregistrer comme préréglage" in page and "Utiliser" in page

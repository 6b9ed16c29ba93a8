"""The export form's "Only orders changed since the last export" box (issue 16.5): it posts the API's
`changes_since: "last"`, a preset keeps it, and the list says an incremental export in words."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crowdexports.exports.statuses import ExportStatus
from crowdexports.models import Export, ExportPreset
from tests.web.conftest import Person, ask_csv, csrf_of, project_of


def test_the_box_asks_for_the_changes_since_the_last_export(signed_in: TestClient, olga: Person,
                                                           session: Session) -> None:
    project = project_of(olga)
    page = signed_in.get(f"/web/projects/{project.id}").text
    assert '<label for="changes-since">Only orders changed since the last export</label>' in page
    assert 'id="changes-since" name="changes_since" value="last"' in page
    assert ask_csv(signed_in, project).status_code == 303
    first = session.scalars(select(Export)).one()
    assert "changes_since" not in (first.options or {})["type"]
    session.execute(update(Export).where(Export.id == first.id).values(status=ExportStatus.SUCCEEDED,
                                                                       changes_upto=0))
    session.commit()
    assert ask_csv(signed_in, project, changes_since="last").status_code == 303
    latest = session.scalars(select(Export).order_by(Export.id.desc())).first()
    assert latest is not None and (latest.options or {})["type"]["changes_since"] == {
        "export_id": first.id, "after": 0}
    listed = signed_in.get(f"/web/projects/{project.id}").text
    assert f"Only the orders created or changed since export {first.id}." in listed


def test_a_preset_keeps_the_box(signed_in: TestClient, olga: Person, session: Session) -> None:
    project = project_of(olga)
    token = csrf_of(signed_in.get(f"/web/projects/{project.id}"))
    saved = signed_in.post(f"/web/projects/{project.id}/presets", data={
        "csrf": token, "name": "Weekly changes", "format": "csv", "column": ["order.id"], "changes_since": "last"},
        follow_redirects=False)
    assert saved.status_code == 303, saved.text
    preset = session.scalars(select(ExportPreset)).one()
    assert preset.settings["changes_since"] == "last"
    page = signed_in.get(f"/web/projects/{project.id}?preset={preset.id}").text
    assert 'name="changes_since" value="last" aria-describedby="changes-since-help" checked' in page

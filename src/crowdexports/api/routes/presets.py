"""Export preset endpoints (issue 15): a project's named export settings, which `POST
/v1/projects/{id}/exports` takes as `{"preset": id}`. Access checks are dependencies (api/permissions.py);
the work is exports.presets'."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from crowdexports.api.authentication import CallerDep
from crowdexports.api.bodies import JsonObject
from crowdexports.api.database import SessionDep
from crowdexports.api.openapi import answers
from crowdexports.api.permissions import PresetsProject, PresetsProjectForWrite, VisiblePreset, WritablePreset
from crowdexports.api.schemas import PresetBody, PresetList, PresetOut
from crowdexports.exports import presets
from crowdexports.exports.timestamps import rfc3339
from crowdexports.models import ExportPreset

router = APIRouter(prefix="/v1", tags=["export presets"])
BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": PresetBody.model_json_schema()}}}}


def preset_resource(preset: ExportPreset) -> dict[str, Any]:
    return {"id": preset.id, "project_id": preset.project_id, "name": preset.name, "settings": preset.settings,
            "created_at": rfc3339(preset.created_at), "updated_at": rfc3339(preset.updated_at)}


@router.get("/projects/{project_id}/export-presets", response_model=PresetList)
def list_presets(project: PresetsProject, session: SessionDep) -> dict[str, Any]:
    """The project's export presets, by name: for its owner and staff (to others, 404)."""
    return {"export_presets": [preset_resource(preset) for preset in presets.list_presets(session, project.id)]}


@router.post("/projects/{project_id}/export-presets", status_code=201, response_model=PresetOut,
             openapi_extra=BODY)
@answers(400, 409)  # the body's values; a name the project uses already, or the cap of presets reached
def create_preset(project: PresetsProjectForWrite, payload: JsonObject, caller: CallerDep, session: SessionDep,
                  response: Response) -> dict[str, Any]:
    """Save named export settings for the project: its owner, with a Bearer token."""
    preset = presets.create_preset(session, project, payload, caller.user.lang)
    response.headers["Location"] = f"/v1/export-presets/{preset.id}"
    return preset_resource(preset)


@router.get("/export-presets/{preset_id}", response_model=PresetOut)
def show_preset(preset: VisiblePreset) -> dict[str, Any]:
    """One export preset, for its project's owner and staff; to anyone else it does not exist."""
    return preset_resource(preset)


@router.put("/export-presets/{preset_id}", response_model=PresetOut, openapi_extra=BODY)
@answers(400, 409)  # the body's values; a name another preset of the project has
def replace_preset(preset: WritablePreset, payload: JsonObject, caller: CallerDep,
                   session: SessionDep) -> dict[str, Any]:
    """Replace a preset's name and settings: its project's owner, with a Bearer token."""
    return preset_resource(presets.update_preset(session, preset, payload, caller.user.lang))


@router.delete("/export-presets/{preset_id}", status_code=204, response_class=Response)
def delete_preset(preset: WritablePreset, session: SessionDep) -> Response:
    """Delete a preset; exports made with it keep their settings (they were copied)."""
    presets.delete_preset(session, preset)
    return Response(status_code=204)

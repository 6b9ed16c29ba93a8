"""The body of `POST /v1/projects/{id}/export-presets` and `PUT /v1/export-presets/{id}`, and the presets
made by `crowdexports presets create`: a name, and the settings of an export request (rules.exports),
which the request's own check judges (exports.presets)."""

from __future__ import annotations

from crowdexports.models import ExportPreset
from crowdexports.rules.kinds import Body, Settings, Text

NAME = Text.column(ExportPreset, "name", required=True, check=str.strip, rule="must not be blank")
SETTINGS = Settings("settings")
MAX_PER_PROJECT = 50  # presets of one project; one more is 409 (docs/decisions.md)

PRESET = Body((NAME, SETTINGS), read_only=("id", "project_id", "created_at", "updated_at"))

"""The fields of an export request (`POST /v1/projects/{id}/exports`, `crowdexports exports create|run`).

The allowed types and formats are the registries' (`exports.types`, `exports.writers`), the csv dialects
the csv writer's, and a header's length the column catalogue's: each has one owner, named here.
"""

from __future__ import annotations

from crowdexports.exports import changes_since
from crowdexports.exports.types import EXPORT_TYPES
from crowdexports.exports.types.base import MAX_HEADER_LENGTH
from crowdexports.exports.types.order_layouts import Layout
from crowdexports.exports.writers import WRITERS
from crowdexports.exports.writers.csv import CsvDialect
from crowdexports.rules.kinds import Body, ExportRef, Filters, Headers, Integer, choice

TYPE = choice("type", tuple(EXPORT_TYPES), required=True)
FORMAT = choice("format", tuple(WRITERS), required=True)
COLUMNS = Headers("columns", MAX_HEADER_LENGTH)
# csv only; null or absent: the default, rfc4180.
CSV_DIALECT = choice("csv_dialect", tuple(dialect.value for dialect in CsvDialect))
# The orders type's filters (exports.types.order_filters owns their rules).
FILTERS = Filters("filters")
# Orders changed since this export of the project, or since its latest ("last"): exports.changes_since.
CHANGES_SINCE = ExportRef(changes_since.NAME, changes_since.LAST)
# The orders type's row layout (exports.types.order_layouts); null or absent: the default, items.
LAYOUT = choice("layout", tuple(layout.value for layout in Layout))
# A preset of the project (rules.presets) whose settings the request's other fields override.
PRESET = Integer("preset", rule="must be an export preset's id", required=False)

# The export resource's other fields: the service sets them.
EXPORT_REQUEST = Body((TYPE, FORMAT, COLUMNS, CSV_DIALECT, FILTERS, CHANGES_SINCE, LAYOUT, PRESET), read_only=(
    "id", "project_id", "status", "created_at", "url", "user", "row_count", "size", "sha256", "summary", "started_at",
    "finished_at", "expires_at", "error", "progress", "email_status", "retry_of", "retried_by"))

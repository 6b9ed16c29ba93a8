"""Names users see: the export's file name and the xlsx sheet title, both safe whatever the project name.

File names are plain ASCII (`solar-kettle-42_orders_2026-11-28_export-1234.csv`) so they survive every mail
client, file system and Content-Disposition header; the project id keeps them non-empty when the name has
no Latin letters, and the export id makes them unique: two exports of one project on one day no longer
overwrite each other in a downloads folder, and support finds the export from a forwarded file.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

MAX_SLUG_LENGTH = 60
MAX_SHEET_TITLE = 31  # Excel's limit, in UTF-16 code units
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_NOT_IN_SHEET_TITLE = re.compile(r"[\[\]:*?/\\\x00-\x1f\x7f]+")
_SPACES = re.compile(r"\s+")
_DEFAULT_SHEET_TITLE = "Export"


def slugify(text: str, max_length: int = MAX_SLUG_LENGTH) -> str:
    """Lower-case ASCII letters, digits and single hyphens: "Été – 東京" -> "ete". May be empty."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-")


def export_file_name(project_name: str, project_id: int, export_id: int, type_: str, created_at: datetime,
                     extension: str) -> str:
    """`<project-slug>-<id>_<type>_<YYYY-MM-DD>_export-<export id>.<ext>`; the date is `created_at`'s own
    calendar date; the export id last, so a project's files still sort by date."""
    slug = slugify(project_name)
    project = f"{slug}-{project_id}" if slug else f"project-{project_id}"
    kind = slugify(type_, 30) or "export"
    return (f"{project}_{kind}_{created_at.date().isoformat()}_export-{export_id}"
            f".{slugify(extension, 10) or 'bin'}")


def sheet_title(project_name: str, suffix: str = "") -> str:
    """A valid, non-empty Excel sheet name from `project_name`, with room kept for `suffix` (" (2)").

    Excel refuses []:*?/\\, a leading or trailing apostrophe, more than 31 characters and the
    reserved name "History". Idempotent, so callers may pass an already cleaned title.
    """
    title = _SPACES.sub(" ", _NOT_IN_SHEET_TITLE.sub(" ", project_name)).strip(" '")
    room = 2 * MAX_SHEET_TITLE - len(suffix.encode("utf-16-le"))
    # Cut in UTF-16 units as Excel counts ("ignore" drops half an emoji); no writers import: the
    # xlsx writer imports this module.
    title = title.encode("utf-16-le")[:room].decode("utf-16-le", "ignore").strip(" '")
    if not title or title.casefold() == "history":
        title = _DEFAULT_SHEET_TITLE
    return title + suffix

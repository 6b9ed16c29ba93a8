"""A project's fields: `PUT /v1/projects/{id}`, `crowdexports import projects` and the projects made
here (`auth.accounts.create_project`)."""

from __future__ import annotations

import re
import unicodedata
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crowdexports.models import Project
from crowdexports.rules.kinds import Body, Integer, Text, language


def valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # ValueError: paths such as "../etc"
        return False
    return True


OWNER_ID = Integer("owner_id")
NAME = Text.column(Project, "name", required=True, check=str.strip, rule="must not be blank")
SLUG = Text.column(Project, "slug")  # default_slug when empty
CURRENCY = Text.column(Project, "currency", required=True, pattern="^[A-Z]{3}$",
                       rule="must be an ISO 4217 code such as 'EUR'")
TIMEZONE = Text.column(Project, "timezone", default="Europe/Paris", check=valid_timezone,
                       rule="must be an IANA time zone such as 'Europe/Paris'")
LANG = language(Project)  # the export's second choice of language for reward texts

PROJECT = Body((OWNER_ID, NAME, SLUG, CURRENCY, TIMEZONE, LANG), read_only=("id",))


def default_slug(name: str) -> str:
    """A project's slug made from its name."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:200] or "project"

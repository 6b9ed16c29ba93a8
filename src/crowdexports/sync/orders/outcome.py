"""What an order import did (`ImportResult`), or why it wrote nothing (`ImportRefused`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crowdexports.errors import InvalidInput


@dataclass
class ImportResult:
    """Lines read (as numbered, blank ones included) and blank lines; orders created, updated (changed)
    and unchanged (there already as the line says, not written); users the same, from the embedded user
    objects, one upsert per line."""

    lines: int = 0
    blank_lines: int = 0
    orders_created: int = 0
    orders_updated: int = 0
    orders_unchanged: int = 0
    users_created: int = 0
    users_updated: int = 0
    users_unchanged: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"lines": self.lines, "blank_lines": self.blank_lines,
                "orders": {"created": self.orders_created, "updated": self.orders_updated,
                           "unchanged": self.orders_unchanged},
                "users": {"created": self.users_created, "updated": self.users_updated,
                          "unchanged": self.users_unchanged}}


@dataclass
class ImportRefused(InvalidInput):
    """Bad lines: nothing was imported. `problems` lists at most jsonlines.MAX_PROBLEMS of them."""

    lines: int = 0
    bad_lines: int = 0

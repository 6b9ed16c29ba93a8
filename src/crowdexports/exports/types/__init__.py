"""The registry of export types. A new type is one module beside this file plus one line below."""

from __future__ import annotations

from crowdexports.errors import invalid
from crowdexports.exports.types.base import ExportType
from crowdexports.exports.types.orders import ORDERS

EXPORT_TYPES: dict[str, ExportType] = {
    ORDERS.identifier: ORDERS,
}


def get_type(identifier: str) -> ExportType:
    """The export type called `identifier`; InvalidInput (ValueError on `type`) for any other value."""
    try:
        return EXPORT_TYPES[identifier]
    except KeyError:
        raise invalid("type", f"must be one of: {', '.join(EXPORT_TYPES)}") from None

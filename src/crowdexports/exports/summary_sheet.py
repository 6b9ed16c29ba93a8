"""The xlsx file's "Summary" sheet: the export's control totals (exports.summary) as one table, a row per
currency for all statuses, then one per status; headers in the recipient's language.

The sheet is called "Summary" in every language, so a formula or a script that reads it finds it by one
name. Statuses are written as the data sheet's status column writes them (`payment-completed`), so each
row can be checked with a COUNTIFS or SUMIFS over the data sheet.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from crowdexports.exports.summary import Summary, Totals
from crowdexports.exports.types.base import ColumnKind, OutputColumn
from crowdexports.exports.writers.base import SummarySheet

SHEET_NAME = "Summary"
_HEADERS = {"en": ("Currency", "Status", "Orders", "Items", "Total"),
            "fr": ("Devise", "Statut", "Commandes", "Articles", "Total")}
_ALL = {"en": "All", "fr": "Toutes"}
_KINDS = (ColumnKind.TEXT, ColumnKind.TEXT, ColumnKind.INTEGER, ColumnKind.INTEGER, ColumnKind.MONEY)
_IDS = ("currency", "status", "orders", "items", "total")


def summary_sheet(totals: Totals, lang: str) -> SummarySheet:
    """The sheet of `totals`, read by the writer once the rows are written; labels in `lang` (en or fr)."""
    lang = lang if lang in _HEADERS else "en"
    columns = [OutputColumn(id_, kind, header) for id_, kind, header in zip(_IDS, _KINDS, _HEADERS[lang], strict=True)]
    return SummarySheet(SHEET_NAME, columns, lambda: summary_rows(totals.summary(), lang))


def summary_rows(summary: Summary, lang: str) -> list[Sequence[object]]:
    """Per currency: its row for all statuses, then one per status."""
    rows: list[Sequence[object]] = []
    for figures in summary:
        currency = figures["currency"]
        rows.append((currency, _ALL.get(lang, _ALL["en"]), figures["orders"], figures["items"],
                     Decimal(figures["total"])))
        rows += [(currency, status["status"], status["orders"], status["items"], Decimal(status["total"]))
                 for status in figures["by_status"]]
    return rows

"""The platform's order statuses (rules.orders.STATUSES) in words, English and French: the one table the
file's "Order status" column, the filter sentence of the email and the page, and the export page's status
choices all read. A status the table does not know is shown as its code."""

from __future__ import annotations

from collections.abc import Callable

STATUS_WORDS = {
    "en": {"processing": "processing", "awaiting-confirmation": "awaiting confirmation",
           "payment-completed": "payment completed", "cancelled": "cancelled", "payment-done": "payment done",
           "payment-invalid": "payment invalid", "payment-reimbursed": "reimbursed", "error": "error"},
    "fr": {"processing": "en cours", "awaiting-confirmation": "en attente de confirmation",
           "payment-completed": "paiement terminé", "cancelled": "annulée", "payment-done": "paiement effectué",
           "payment-invalid": "paiement invalide", "payment-reimbursed": "remboursée", "error": "en erreur"},
}


def status_cell(lang: str) -> Callable[[str | None], str | None]:
    """A converter for a file's cells: the status as a capitalised word in `lang` (English when the
    table has no such language), built once per export so a row costs one dict lookup."""
    labels = {code: word[:1].upper() + word[1:] for code, word in STATUS_WORDS.get(lang, STATUS_WORDS["en"]).items()}
    return lambda status: labels.get(status, status) if status is not None else None

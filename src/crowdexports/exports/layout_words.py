"""An orders export's row layout (exports.types.order_layouts) in one plain sentence, in English or
French: the export page's list and the "your export is ready" email say how the file's rows are made,
so a bookkeeper knows why an order's total is on one row only, or why it repeats."""

from __future__ import annotations

_SENTENCES = {
    "en": {"items": "One row per reward ordered; an order's total, subtotal and shipping are on its first row only, "
                    "so each column adds up to the right amount.",
           "orders": "One row per order: its rewards listed in one cell, quantities and reward totals added up.",
           "items_repeated": "One row per reward ordered, with the order's total, subtotal and shipping on every "
                             "row, for pivot tables: adding up those columns counts an order once per reward."},
    "fr": {"items": "Une ligne par contrepartie commandée ; le total, le sous-total et les frais de livraison d’une "
                    "commande sont sur sa première ligne seulement, pour que chaque colonne fasse la bonne somme.",
           "orders": "Une ligne par commande : ses contreparties dans une même cellule, quantités et totaux des "
                     "contreparties additionnés.",
           "items_repeated": "Une ligne par contrepartie commandée, avec le total, le sous-total et les frais de "
                             "livraison de la commande sur chaque ligne, pour les tableaux croisés : la somme de ces "
                             "colonnes compte une commande autant de fois qu’elle a de contreparties."},
}


def describe_layout(layout: str, lang: str) -> str:
    """`layout` (the resource's) in `lang` (en or fr; anything else is English); "" for an unknown one."""
    return _SENTENCES.get(lang, _SENTENCES["en"]).get(layout, "")

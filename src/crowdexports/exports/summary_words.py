"""An export's control totals (exports.summary) in words, English or French, for its email and the export
page: a line per currency ("500 orders, 608 items, orders' total 46,291.80 EUR"), then one per order status
in the words of the email's filter sentence (exports.filter_words).

Numbers as the language writes them (Babel), amounts with exactly the currency's decimals and its code.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from babel.numbers import format_decimal

from crowdexports.exports.status_words import STATUS_WORDS
from crowdexports.exports.summary import Summary
from crowdexports.money import exponent

_COUNTS = {"en": {"orders": ("{} order", "{} orders"), "items": ("{} item", "{} items")},
           "fr": {"orders": ("{} commande", "{} commandes"), "items": ("{} article", "{} articles")}}
_TOTAL = {"en": "orders' total {}", "fr": "total des commandes {}"}
_STATUS = {"en": "{}: {}", "fr": "{}\u202f: {}"}


def summary_lines(summary: Summary | None, lang: str) -> list[tuple[str, list[str]]]:
    """Per currency, (its totals, [the totals of each status]) in `lang` (en or fr; anything else is English);
    [] for an export without totals (not made yet, or made before them)."""
    lang = lang if lang in _COUNTS else "en"
    return [(_figures(figures, figures["currency"], lang),
             [_STATUS[lang].format(STATUS_WORDS[lang].get(status["status"], status["status"]),
                                            _figures(status, figures["currency"], lang))
              for status in figures["by_status"]])
            for figures in summary or ()]


def _figures(figures: Mapping[str, Any], currency: str, lang: str) -> str:
    counts = _COUNTS[lang]
    return ", ".join((_count(figures["orders"], counts["orders"], lang),
                      _count(figures["items"], counts["items"], lang),
                      _TOTAL[lang].format(format_amount(Decimal(figures["total"]), currency, lang))))


def _count(count: int, forms: tuple[str, str], lang: str) -> str:
    singular = count < 2 if lang == "fr" else count == 1  # French: 0 and 1 take the singular
    return forms[0 if singular else 1].format(format_decimal(count, locale=lang))


def format_amount(amount: Decimal, currency: str, lang: str) -> str:
    """`46,291.80 EUR` / `46 291,80 EUR`: the currency's decimals, its code after the number."""
    decimals = exponent(currency)
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return f"{format_decimal(amount, format=pattern, locale=lang)}\u00a0{currency}"

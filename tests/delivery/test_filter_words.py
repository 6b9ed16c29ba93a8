"""An export's filters in plain words (exports.filter_words), and in its emails (issue 15)."""

from __future__ import annotations

import email
import email.policy
import html
from typing import Any

import pytest

from crowdexports.exports.filter_words import describe_filters

from .messages import failed_message, succeeded_message

NOVEMBER_IN_FRANCE = {"status": ["payment-completed"], "created": {"from": "2026-11-01", "to": "2026-12-01"},
                      "country": ["FR"]}
WORDS: list[tuple[dict[str, Any], str, str]] = [
    ({}, "All orders.", "Toutes les commandes."),
    (NOVEMBER_IN_FRANCE,
     "Orders with status payment completed, created from 1 November 2026 to 30 November 2026, shipped to France.",
     "Commandes au statut paiement terminé, créées du 1 novembre 2026 au 30 novembre 2026, livrées vers France."),
    ({"status": ["cancelled", "error", "payment-reimbursed"]},
     "Orders with status cancelled, error, or reimbursed.",
     "Commandes au statut annulée, en erreur ou remboursée."),
    ({"created": {"from": "2026-11-01T09:30"}}, "Orders created from 1 November 2026, 09:30.",
     "Commandes créées à partir du 1 novembre 2026 à 09:30."),
    ({"created": {"to": "2026-11-02"}}, "Orders created up to 1 November 2026.",
     "Commandes créées jusqu’au 1 novembre 2026."),
    ({"created": {"to": "2026-11-02T18:00"}}, "Orders created before 2 November 2026, 18:00.",
     "Commandes créées avant le 2 novembre 2026 à 18:00."),
    ({"created": {"from": "2026-10-25", "to": "2026-10-25T12:00:00"}},
     "Orders created from 25 October 2026 and before 25 October 2026, 12:00.",
     "Commandes créées à partir du 25 octobre 2026 et avant le 25 octobre 2026 à 12:00."),
    ({"country": ["DE", "BE"], "has_shipping_address": True},
     "Orders shipped to Germany or Belgium, with a shipping address.",
     "Commandes livrées vers Allemagne ou Belgique, avec une adresse de livraison."),
    ({"has_shipping_address": False}, "Orders without a shipping address.", "Commandes sans adresse de livraison."),
    ({"reward_ids": [7, 8]}, "Orders; only the items of rewards 7 and 8.",
     "Commandes\u202f; seulement les articles des contreparties 7 et 8."),
]


@pytest.mark.parametrize(("filters", "en", "fr"), WORDS)
def test_filters_in_plain_words(filters: dict[str, Any], en: str, fr: str) -> None:
    assert describe_filters(filters, "en") == en
    assert describe_filters(filters, "fr") == fr
    assert describe_filters(filters, "de") == en  # a language without words: English


def test_rewards_are_named_when_their_titles_are_known() -> None:
    said = describe_filters({"reward_ids": [7, 8]}, "en", {7: "Early bird"})
    assert said == "Orders; only the items of rewards Early bird (7) and 8."


def _bodies(message: email.message.EmailMessage) -> tuple[str, str]:
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    text, html_part = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert text is not None and html_part is not None
    return str(text.get_content()), str(html_part.get_content())


@pytest.mark.parametrize(("lang", "label"), [("en", "Filters: "), ("fr", "Filtres : ")])
@pytest.mark.parametrize("compose", [succeeded_message, failed_message])
def test_the_emails_say_the_filters(lang: str, label: str, compose: Any) -> None:
    words = describe_filters(NOVEMBER_IN_FRANCE, lang)
    text, html_body = _bodies(compose(lang=lang, filters=NOVEMBER_IN_FRANCE))
    assert label + words in text
    assert label + html.escape(words) in html_body
    unfiltered_text, unfiltered_html = _bodies(compose(lang=lang, filters={}))
    assert label not in unfiltered_text and label not in unfiltered_html


@pytest.mark.parametrize(("lang", "label", "words"), [
    ("en", "Filters: ", "Only the orders created or changed since export 41."),
    ("fr", "Filtres : ", "Seulement les commandes créées ou modifiées depuis l’export 41.")])
@pytest.mark.parametrize("compose", [succeeded_message, failed_message])
def test_the_emails_say_an_incremental_export(lang: str, label: str, words: str, compose: Any) -> None:
    text, html_body = _bodies(compose(lang=lang, filters={}, changes_since=41))
    assert label + words in text and label + html.escape(words) in html_body
    text, _ = _bodies(compose(lang=lang, filters=NOVEMBER_IN_FRANCE, changes_since=41))
    assert label + describe_filters(NOVEMBER_IN_FRANCE, lang) + " " + words in text

"""An export's filters in plain words, in English or French, for its email and the export page: one
sentence, so the owner reads what the file holds ("Orders with status payment completed, created from
1 November 2026 to 30 November 2026, shipped to France.").

Pure: from the filters as the resource shows them (exports.requests.filters_of), dates, country names
and lists by Babel (CLDR). `created`'s `to` is exclusive: a date is said as the day before ("to 30
November" for `"to": "2026-12-01"`), a date-time as "before".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from babel import Locale
from babel.dates import format_date, format_time
from babel.lists import format_list

from crowdexports.exports.status_words import STATUS_WORDS
from crowdexports.exports.types.order_filters import local_moment

# Dates as the emails write them (13 June 2025): British English, not CLDR's default `en` (US).
_DATE_LOCALES = {"en": "en_GB", "fr": "fr"}
_WORDS = {
    "en": {"all": "All orders.", "orders": "Orders", "status": "with status {}", "from": "created from {}",
           "up_to": "created up to {}", "before": "created before {}", "between": "created from {} to {}",
           "from_before": "created from {} and before {}", "country": "shipped to {}",
           "with_address": "with a shipping address", "without_address": "without a shipping address",
           "rewards": "only the items of rewards {}", "at": "{}, {}", "then": "; "},
    "fr": {"all": "Toutes les commandes.", "orders": "Commandes", "status": "au statut {}",
           "from": "créées à partir du {}", "up_to": "créées jusqu’au {}", "before": "créées avant le {}",
           "between": "créées du {} au {}", "from_before": "créées à partir du {} et avant le {}",
           "country": "livrées vers {}", "with_address": "avec une adresse de livraison",
           "without_address": "sans adresse de livraison", "rewards": "seulement les articles des contreparties {}",
           "at": "{} à {}", "then": "\u202f; "},
}


_CHANGES = {"en": "Only the orders created or changed since export {}.",
            "fr": "Seulement les commandes créées ou modifiées depuis l’export {}."}


def describe_changes(changes_since: int | None, lang: str) -> str:
    """An incremental export (exports.changes_since) in one sentence; "" for one of every order."""
    return "" if changes_since is None else _CHANGES.get(lang, _CHANGES["en"]).format(changes_since)


def describe_filters(filters: Mapping[str, Any], lang: str,
                     reward_titles: Mapping[int, str] | None = None) -> str:
    """One sentence in `lang` (en or fr; anything else is English); `reward_titles` names rewards by id."""
    lang = lang if lang in _WORDS else "en"
    words = _WORDS[lang]
    if not filters:
        return words["all"]
    parts = []
    if filters.get("status"):
        parts.append(words["status"].format(_or([STATUS_WORDS[lang].get(s, s) for s in filters["status"]], lang)))
    if filters.get("created"):
        parts.append(_created(filters["created"], lang))
    if filters.get("country"):
        names = Locale.parse(lang).territories
        parts.append(words["country"].format(_or([names.get(code, code) for code in filters["country"]], lang)))
    if filters.get("has_shipping_address") is not None:
        parts.append(words["with_address" if filters["has_shipping_address"] else "without_address"])
    sentence = " ".join([words["orders"], ", ".join(parts)]) if parts else words["orders"]
    if filters.get("reward_ids"):
        titles = reward_titles or {}
        named = [f"{titles[i]} ({i})" if titles.get(i) else str(i) for i in filters["reward_ids"]]
        sentence += words["then"] + words["rewards"].format(format_list(named, locale=lang))
    return sentence + "."


def _or(values: Sequence[str], lang: str) -> str:
    return format_list(list(values), style="or", locale=lang)


def _created(created: Mapping[str, str], lang: str) -> str:
    """`to` as a date is said as its day before, included ("up to", "from … to"); as a date-time, "before"."""
    words, start, stop = _WORDS[lang], created.get("from"), created.get("to")
    if stop is None:
        return words["from"].format(_when(start or "", lang))
    last_day = "T" not in stop
    shown_stop = _day(local_moment(stop) - timedelta(days=1), lang) if last_day else _when(stop, lang)
    if start is None:
        return words["up_to" if last_day else "before"].format(shown_stop)
    return words["between" if last_day else "from_before"].format(_when(start, lang), shown_stop)


def _day(moment: datetime, lang: str) -> str:
    return format_date(moment.date(), "long", locale=_DATE_LOCALES[lang])


def _when(value: str, lang: str) -> str:
    """A date as its day, a date-time as its day and time."""
    moment = local_moment(value)
    if "T" not in value:
        return _day(moment, lang)
    return _WORDS[lang]["at"].format(_day(moment, lang), format_time(moment.time(), "HH:mm", locale=lang))

"""The page's languages (English, French) and how it writes dates, zones and sizes in them.

Messages are gettext catalogues (`locale/<lang>/LC_MESSAGES/messages.po`, English is the source text),
read by Babel when a process first renders in that language: the `.po` file is the only artifact, no
compile step. Dates, zone names and numbers are Babel's (CLDR), in the project's time zone.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from functools import lru_cache
from gettext import NullTranslations
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, get_timezone_name
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations
from babel.units import format_unit

LANGS = ("en", "fr")
DEFAULT_LANG = "en"
LANG_NAMES = {"en": "English", "fr": "Français"}  # each in its own language: what a reader looks for
LOCALE_DIR = Path(__file__).parent / "locale"
_UNITS = ((10**9, "digital-gigabyte"), (10**6, "digital-megabyte"), (10**3, "digital-kilobyte"))


def supported(lang: str | None) -> str:
    """One of LANGS for a language tag (`fr`, `fr-CA`, `fr_FR`); anything else is English."""
    primary = (lang or "").replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGS else DEFAULT_LANG


def from_accept_language(header: str) -> str:
    """The first of LANGS the browser prefers (by q-value), for a visitor not signed in."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().split("-")[0].lower()
        if primary in LANGS and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else DEFAULT_LANG


@lru_cache(maxsize=len(LANGS))
def translations(lang: str) -> NullTranslations:
    """The catalogue of `lang`; English is the messages' own text."""
    path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT_LANG or not path.exists():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=lang)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def local_time(moment: str | datetime | None, timezone: str, lang: str) -> str:
    """An instant (RFC 3339 text as the API gives it, or aware) in the project's zone, as `lang` writes it."""
    if moment is None:
        return ""
    instant = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return format_datetime(instant.astimezone(UTC), "medium", tzinfo=ZoneInfo(timezone), locale=lang)


def zone_name(timezone: str, lang: str) -> str:
    """`Central European Time` / `heure d’Europe centrale`: the zone as a reader says it."""
    return get_timezone_name(ZoneInfo(timezone), "long", zone_variant="generic", locale=lang)


def number(value: int | None, lang: str) -> str:
    return "" if value is None else format_decimal(value, locale=lang)


def file_size(size: int | None, lang: str) -> str:
    """`12.3 kB` / `12,3 ko` (decimal units, as file managers show them)."""
    if size is None:
        return ""
    for factor, unit in _UNITS:
        if size >= factor:
            return format_unit(round(size / factor, 1), unit, length="short", locale=lang)
    return format_unit(size, "digital-byte", length="long", locale=lang)

"""A schedule's rule in one short phrase, in English or French, for the CLI's lines and the owner's page
(the API gives the fields). The time is the project's local time; the caller names the zone."""

from __future__ import annotations

from crowdexports.models import ExportSchedule
from crowdexports.schedules.timing import WEEKDAYS

_WEEKDAYS = {"en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
             "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")}
_PHRASES = {
    "en": {"daily": "every day at {at}", "weekly": "every {weekday} at {at}",
           "monthly": "on day {day} of every month at {at} (its last day in a shorter month)",
           "cron": "at the times of the cron expression {cron}"},
    "fr": {"daily": "tous les jours à {at}", "weekly": "chaque {weekday} à {at}",
           "monthly": "le {day} de chaque mois à {at} (son dernier jour dans un mois plus court)",
           "cron": "aux heures de l’expression cron {cron}"},
}


def describe_rule(schedule: ExportSchedule, lang: str) -> str:
    """The rule in `lang` (en or fr; anything else is English)."""
    lang = lang if lang in _PHRASES else "en"
    weekday = "" if schedule.weekday is None else _WEEKDAYS[lang][schedule.weekday]
    return _PHRASES[lang][schedule.rule].format(at=schedule.local_time, weekday=weekday, day=schedule.day,
                                                cron=schedule.cron)


def weekday_choices(lang: str) -> list[tuple[str, str]]:
    """The weekly rule's weekdays: the API's value and its name in `lang` (the page's form)."""
    return list(zip(WEEKDAYS, _WEEKDAYS[lang if lang in _WEEKDAYS else "en"], strict=True))

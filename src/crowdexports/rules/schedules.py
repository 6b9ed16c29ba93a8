"""The body of `POST /v1/projects/{id}/export-schedules` and `PUT /v1/export-schedules/{id}`: when (a rule,
read in the project's time zone by schedules.timing) and what (the settings of an export request, which
may name a preset, judged by the request's own check: schedules.store)."""

from __future__ import annotations

from crowdexports.rules.kinds import Body, Flag, Integer, Settings, Text, choice
from crowdexports.schedules.timing import WEEKDAYS, hourly_at_most

RULES = ("daily", "weekly", "monthly", "cron")
RULE = choice("rule", RULES, required=True)
AT = Text("at", 5, pattern="^([01][0-9]|2[0-3]):[0-5][0-9]$", rule="must be a local time, HH:MM from 00:00 to 23:59")
WEEKDAY = choice("weekday", WEEKDAYS)
DAY = Integer("day", 1, 31, rule="must be a day of the month, 1 to 31 (the month's last day if it has fewer)",
              required=False)
CRON = Text("cron", 100, check=hourly_at_most,
            rule="must be a cron expression of five fields whose minute is one number (at most hourly)")
SETTINGS = Settings("settings")
CHANGES_ONLY = Flag("changes_only")
# What each rule needs besides itself; the others' fields are refused with it.
NEEDS = {"daily": ("at",), "weekly": ("at", "weekday"), "monthly": ("at", "day"), "cron": ("cron",)}
MAX_PER_OWNER = 20  # schedules of one owner, all projects; one more is 409 (docs/decisions.md)

SCHEDULE = Body((RULE, AT, WEEKDAY, DAY, CRON, SETTINGS, CHANGES_ONLY),
                read_only=("id", "project_id", "owner_id", "paused", "next_run", "timezone", "created_at",
                           "updated_at"))

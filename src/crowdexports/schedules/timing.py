"""When a schedule runs: the next slot of a rule, in UTC, from local wall-clock times in the project's time
zone. Pure (no database, no clock): the API shows `next_run`, the worker stores it and fires it.

A rule yields wall-clock times; each becomes one instant by Python's `fold=0` rule, so a daylight-saving
change never makes a schedule run twice or skip a day:
- a local time the clock skips (02:30 on Paris's spring change) runs once, shifted by the gap (03:30
  CEST, the instant 02:30 names under the offset before the change);
- a local time the clock shows twice (02:30 on Paris's autumn change) runs once, at its first occurrence
  (02:30 CEST); the repeated hour makes no second slot.
A monthly day the month lacks (the 31st in April, the 29th to 31st in February) runs on its last day.
A cron expression is read by `croniter` in local wall-clock time, then mapped the same way.
Slots missed while nothing ran are not replayed one by one: `catch_up` gives the one slot to run now and
the first one after now (docs/decisions.md).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from croniter import CroniterBadDateError, croniter

Kind = Literal["daily", "weekly", "monthly", "cron"]
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_LOOKBACK = timedelta(hours=3)  # wall clock behind `after`'s: covers any daylight-saving shift
_MAX_CANDIDATES = 100_000  # a cron expression that never matches stops here instead of looping


@dataclass(frozen=True)
class Rule:
    """daily at `at`; weekly on `weekday` (0 = Monday) at `at`; monthly on `day` (1-31) at `at`; or `cron`
    (five fields, local time; `at` unused)."""

    kind: Kind
    at: time = time(0, 0)
    weekday: int | None = None
    day: int | None = None
    cron: str | None = None


class NeverRuns(ValueError):
    """The rule names no time at all (a cron expression such as `0 0 30 2 *`)."""


def instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """A naive local wall-clock time as a UTC instant: `fold=0` (see the module's docstring)."""
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def next_run(rule: Rule, timezone: str, after: datetime) -> datetime:
    """The rule's first slot strictly after `after` (aware), in UTC."""
    zone = ZoneInfo(timezone)
    start = after.astimezone(zone).replace(tzinfo=None) - _LOOKBACK
    try:
        for count, wall in enumerate(_walls(rule, start)):
            moment = instant(wall, zone)
            if moment > after:
                return moment
            if count > _MAX_CANDIDATES:
                break
    except CroniterBadDateError:
        pass
    raise NeverRuns(f"the rule {rule} names no time after {after.isoformat()}")


def catch_up(rule: Rule, timezone: str, due: datetime, now: datetime) -> tuple[datetime, datetime] | None:
    """Whether a schedule whose next slot is `due` runs at `now`: None before `due`; else the slot to run
    (`due` itself, however many slots passed since: they make this one run, not one each) and the next
    slot, the first strictly after `now`."""
    if now < due:
        return None
    return due, next_run(rule, timezone, now)


def _walls(rule: Rule, start: datetime) -> Iterator[datetime]:
    """The rule's wall-clock times from `start` (naive, local) on, in order."""
    if rule.kind == "cron":
        assert rule.cron is not None
        times = croniter(rule.cron, start - timedelta(seconds=1), ret_type=datetime)
        while True:
            yield times.get_next(datetime)
    day = start.date()
    while True:
        wall = datetime.combine(day, rule.at)
        if wall >= start and _matches(rule, day):
            yield wall
        day += timedelta(days=1)


def _matches(rule: Rule, day: date) -> bool:
    if rule.kind == "daily":
        return True
    if rule.kind == "weekly":
        return day.weekday() == rule.weekday
    assert rule.day is not None
    return day.day == min(rule.day, calendar.monthrange(day.year, day.month)[1])


def hourly_at_most(expression: str) -> bool:
    """A cron expression `croniter` reads, of five fields, whose minute is one number: a schedule runs at
    most once an hour (an owner's schedules are bounded in number and in how often each runs)."""
    fields = expression.split()
    return len(fields) == 5 and fields[0].isdigit() and int(fields[0]) < 60 and bool(croniter.is_valid(expression))

"""A schedule's next run time (schedules/timing.py): each rule, Paris's two daylight-saving changes for a
daily 02:30 schedule, the month's missing days, and missed slots caught up once."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from crowdexports.schedules.timing import NeverRuns, Rule, catch_up, next_run

PARIS = "Europe/Paris"
DAILY_0230 = Rule("daily", at=time(2, 30))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def runs(rule: Rule, after: datetime, count: int, timezone: str = PARIS) -> list[datetime]:
    found = []
    for _ in range(count):
        after = next_run(rule, timezone, after)
        found.append(after)
    return found


def test_daily_in_winter_and_summer() -> None:
    assert next_run(DAILY_0230, PARIS, utc(2027, 1, 10, 12)) == utc(2027, 1, 11, 1, 30)  # CET, +01:00
    assert next_run(DAILY_0230, PARIS, utc(2027, 7, 10, 12)) == utc(2027, 7, 11, 0, 30)  # CEST, +02:00


def test_the_slot_itself_is_not_after_itself() -> None:
    assert next_run(DAILY_0230, PARIS, utc(2027, 1, 11, 1, 30)) == utc(2027, 1, 12, 1, 30)
    assert next_run(DAILY_0230, PARIS, utc(2027, 1, 11, 1, 29, 59)) == utc(2027, 1, 11, 1, 30)


def test_spring_change_the_missing_0230_runs_once_shifted_by_the_gap() -> None:
    """28 March 2027: 02:00 CET becomes 03:00 CEST, so 02:30 does not exist; it runs at 03:30 CEST."""
    assert runs(DAILY_0230, utc(2027, 3, 26, 12), 4) == [
        utc(2027, 3, 27, 1, 30),  # 02:30 CET
        utc(2027, 3, 28, 1, 30),  # 03:30 CEST: the day is not skipped
        utc(2027, 3, 29, 0, 30),  # 02:30 CEST
        utc(2027, 3, 30, 0, 30),
    ]


def test_autumn_change_the_twice_shown_0230_runs_once_at_its_first_occurrence() -> None:
    """31 October 2027: 03:00 CEST becomes 02:00 CET, so 02:30 happens twice; it runs once, in CEST."""
    assert runs(DAILY_0230, utc(2027, 10, 29, 12), 4) == [
        utc(2027, 10, 30, 0, 30),  # 02:30 CEST
        utc(2027, 10, 31, 0, 30),  # 02:30 CEST, the first of the two
        utc(2027, 11, 1, 1, 30),  # 02:30 CET: no second run at 01:30 UTC on the 31st
        utc(2027, 11, 2, 1, 30),
    ]
    assert next_run(DAILY_0230, PARIS, utc(2027, 10, 31, 0, 30)) == utc(2027, 11, 1, 1, 30)


@pytest.mark.parametrize(("after", "expected"), [
    (utc(2027, 3, 27, 12), [utc(2027, 3, 28, 1, 30), utc(2027, 3, 29, 0, 30)]),
    (utc(2027, 10, 30, 12), [utc(2027, 10, 31, 0, 30), utc(2027, 11, 1, 1, 30)]),
])
def test_a_cron_0230_crosses_the_changes_as_the_daily_rule(after: datetime, expected: list[datetime]) -> None:
    assert runs(Rule("cron", cron="30 2 * * *"), after, 2) == expected


def test_an_hourly_cron_runs_once_per_hour_of_the_day_across_the_autumn_change() -> None:
    """The repeated hour (02:00-03:00 shown twice) makes no second slot: 23 runs, not 24, for 25 hours."""
    slots = runs(Rule("cron", cron="15 * * * *"), utc(2027, 10, 30, 22), 23)
    assert len(set(slots)) == 23 and slots == sorted(slots)
    assert utc(2027, 10, 31, 1, 15) not in slots  # the second 02:15 (CET)
    assert utc(2027, 10, 31, 0, 15) in slots  # the first 02:15 (CEST)


def test_weekly_on_a_weekday() -> None:
    rule = Rule("weekly", at=time(9, 0), weekday=0)  # Mondays 09:00
    assert runs(rule, utc(2027, 1, 6, 12), 2) == [utc(2027, 1, 11, 8), utc(2027, 1, 18, 8)]


def test_monthly_on_the_31st_runs_on_the_last_day_of_shorter_months() -> None:
    rule = Rule("monthly", at=time(6, 0), day=31)
    assert runs(rule, utc(2027, 1, 1), 4) == [
        utc(2027, 1, 31, 5), utc(2027, 2, 28, 5), utc(2027, 3, 31, 4), utc(2027, 4, 30, 4)]
    assert next_run(rule, PARIS, utc(2028, 2, 1)) == utc(2028, 2, 29, 5)  # a leap year


def test_another_time_zone() -> None:
    assert next_run(DAILY_0230, "America/New_York", utc(2027, 1, 10, 12)) == utc(2027, 1, 11, 7, 30)


def test_a_cron_that_never_matches() -> None:
    with pytest.raises(NeverRuns):
        next_run(Rule("cron", cron="0 0 30 2 *"), PARIS, utc(2027, 1, 1))


def test_missed_slots_run_once_on_recovery_not_once_per_missed_slot() -> None:
    """Down from 1 to 10 January: the slot stored (1 January) runs once; the next is the 11th's."""
    due = utc(2027, 1, 1, 1, 30)
    assert catch_up(DAILY_0230, PARIS, due, utc(2027, 1, 1, 1, 29)) is None
    assert catch_up(DAILY_0230, PARIS, due, utc(2027, 1, 10, 9)) == (due, utc(2027, 1, 11, 1, 30))
    slot, following = catch_up(DAILY_0230, PARIS, due, due) or (None, None)
    assert (slot, following) == (due, utc(2027, 1, 2, 1, 30))

"""The delivery rules (webhooks/rules.py): which answers are retried, the schedule, disabling, event ids."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from crowdexports.config import Settings
from crowdexports.webhooks import rules
from crowdexports.webhooks.rules import Outcome

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("status", [None, 408, 429, 500, 502, 503, 504, 599])
def test_no_answer_timeouts_throttling_and_server_errors_are_retried(status: int | None) -> None:
    assert rules.outcome(status) is Outcome.RETRY


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 410, 413, 422, 301, 302, 307, 308, 100])
def test_other_client_errors_and_redirects_are_not(status: int) -> None:
    assert rules.outcome(status) is Outcome.REFUSED


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_any_2xx_delivers(status: int) -> None:
    assert rules.outcome(status) is Outcome.DELIVERED


def test_the_schedule_grows_and_spans_more_than_24_hours_then_stops() -> None:
    at, times = T0, [T0]
    for attempts in range(1, rules.MAX_ATTEMPTS + 1):
        following = rules.next_attempt_at(attempts, at)
        if following is None:
            break
        at = following
        times.append(at)
    assert len(times) == rules.MAX_ATTEMPTS
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert gaps == sorted(gaps) and gaps[0] == timedelta(seconds=5)
    assert times[-1] - times[0] >= timedelta(hours=24)
    assert rules.next_attempt_at(rules.MAX_ATTEMPTS, at) is None


def test_an_endpoint_is_disabled_after_three_days_of_failures() -> None:
    assert not rules.should_disable(None, T0)
    assert not rules.should_disable(T0, T0 + timedelta(days=3) - timedelta(seconds=1))
    assert rules.should_disable(T0, T0 + timedelta(days=3))


def test_the_event_id_is_stable_per_export_and_event() -> None:
    assert rules.event_id(7, "export.succeeded") == rules.event_id(7, "export.succeeded")
    ids = {rules.event_id(export, event) for export in (7, 8) for event in rules.EVENTS}
    assert len(ids) == 6
    assert all(len(event_id) <= 64 for event_id in ids)


def test_the_first_delays_can_be_shortened_and_the_attempts_stay_as_many() -> None:
    delays = rules.schedule([0.2, 3])
    assert delays[:3] == (timedelta(seconds=0.2), timedelta(seconds=3), rules.RETRY_DELAYS[2])
    assert len(delays) == len(rules.RETRY_DELAYS) and rules.schedule() == rules.RETRY_DELAYS
    assert rules.next_attempt_at(2, T0, delays) == T0 + timedelta(seconds=3)
    assert rules.next_attempt_at(rules.MAX_ATTEMPTS, T0, delays) is None


@pytest.mark.parametrize("first", [[-1.0], [1.0] * 8])
def test_a_bad_schedule_setting_is_refused(first: list[float], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROWDEXPORTS_WEBHOOK_FIRST_RETRY_SECONDS", json.dumps(first))
    with pytest.raises(ValidationError, match="webhook_first_retry_seconds"):
        Settings(_env_file=None)

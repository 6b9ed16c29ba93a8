"""What a delivery's answer means, when to try again, and when an endpoint has failed too long.

Pure: no clock, no database, no network; the delivery worker and the tests call the same functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

EVENTS = ("export.succeeded", "export.failed", "export.canceled")

# The delay before each retry: the Standard Webhooks specification's suggested schedule. The last of the
# 8 attempts is 27 h 35 min after the first, past the 24 h the issue asks for; then the delivery fails.
RETRY_DELAYS = (timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
                timedelta(hours=5), timedelta(hours=10), timedelta(hours=10))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
TIMEOUT_SECONDS = 10.0
# An endpoint whose deliveries failed this long, without one success between, is disabled.
DISABLE_AFTER = timedelta(days=3)
# Answers worth asking again: the receiver was slow, overloaded or briefly broken.
RETRIED_STATUSES = frozenset({408, 429})


class Outcome(StrEnum):
    DELIVERED = "delivered"  # a 2xx
    RETRY = "retry"  # timeout, connection error, 408, 429, 5xx: tried again later
    REFUSED = "refused"  # any other answer (4xx, a redirect, which is not followed): not tried again


def outcome(status_code: int | None) -> Outcome:
    """The outcome of an attempt from its HTTP status; None: no answer (timeout, connection error)."""
    if status_code is None or status_code >= 500 or status_code in RETRIED_STATUSES:
        return Outcome.RETRY
    if 200 <= status_code < 300:
        return Outcome.DELIVERED
    return Outcome.REFUSED


def schedule(first_seconds: Sequence[float] = ()) -> tuple[timedelta, ...]:
    """RETRY_DELAYS with its first delays replaced by `first_seconds` (the setting
    `webhook_first_retry_seconds`: tests make them short), as many attempts as ever."""
    if len(first_seconds) > len(RETRY_DELAYS):
        raise ValueError(f"at most {len(RETRY_DELAYS)} delays")
    return (*(timedelta(seconds=seconds) for seconds in first_seconds), *RETRY_DELAYS[len(first_seconds):])


def next_attempt_at(attempts: int, finished_at: datetime,
                    delays: Sequence[timedelta] = RETRY_DELAYS) -> datetime | None:
    """When to try again after `attempts` attempts, the last finished at `finished_at` and to be retried,
    on the schedule `delays`; None: none left, the delivery has failed."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return finished_at + delays[attempts - 1]


def should_disable(failing_since: datetime | None, now: datetime) -> bool:
    """Whether an endpoint failing since `failing_since` (None: its last attempt succeeded) is disabled now."""
    return failing_since is not None and now - failing_since >= DISABLE_AFTER


def event_id(export_id: int, event: str) -> str:
    """The event's id, the same for every attempt and every endpoint (Standard Webhooks' `webhook-id`): an
    export finishes once, so the export and the event name it."""
    return f"msg_export_{export_id}_{event.removeprefix('export.')}"

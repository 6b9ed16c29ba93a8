"""A delivery's life in the database: queued for each endpoint that wants the event, claimed by one worker
at a time, and each attempt recorded with what follows from it (webhooks.rules).

The claim is a lease: it moves `next_attempt_at` past the time an attempt can take, fenced on the delivery
being due, so two workers cannot both take it; a worker killed mid-attempt leaves it due again when the
lease ends, and it is sent again with the same event id. A late worker's record after another's is
refused by the attempt's unique (delivery, number).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crowdexports.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from crowdexports.webhooks import rules
from crowdexports.webhooks.rules import Outcome
from crowdexports.webhooks.sending import Answer

PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
_ENABLED = select(WebhookEndpoint.id).where(WebhookEndpoint.disabled_at.is_(None))


def lease_for(timeout_seconds: float) -> timedelta:
    """A claim's lease: longer than one attempt whose steps (connect, send, answer) each take the timeout."""
    return timedelta(seconds=timeout_seconds * 3)


LEASE = lease_for(rules.TIMEOUT_SECONDS)


@dataclass(frozen=True, slots=True)
class Recorded:
    """An attempt recorded: its outcome, and whether this very attempt disabled the endpoint (its owner is
    then told, once: only one record can disable it)."""

    outcome: Outcome
    disabled: bool


def enqueue(session: Session, *, export_id: int, project_id: int, owner_id: int, event: str,
            now: datetime) -> list[int]:
    """A delivery of the event for each enabled endpoint of the owner's that wants it (of this project or
    of all theirs), due now; one already queued is kept as it is. The ids of the new ones. In the caller's
    transaction, which commits it (webhooks.events: with the export's status change)."""
    wanted = session.scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.user_id == owner_id, WebhookEndpoint.disabled_at.is_(None),
        or_(WebhookEndpoint.project_id.is_(None), WebhookEndpoint.project_id == project_id)))
    made = []
    for endpoint in wanted:
        if event not in endpoint.events:
            continue
        delivery = WebhookDelivery(endpoint_id=endpoint.id, export_id=export_id, event=event,
                                   event_id=rules.event_id(export_id, event), status=PENDING, next_attempt_at=now)
        try:
            with session.begin_nested():
                session.add(delivery)
        except IntegrityError:  # queued already (the unique endpoint and event id)
            continue
        made.append(delivery.id)
    return made


def due(session: Session, now: datetime, limit: int) -> list[int]:
    """Deliveries to attempt now, the longest waiting first."""
    return list(session.scalars(
        select(WebhookDelivery.id).where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now,
                                         WebhookDelivery.endpoint_id.in_(_ENABLED))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)))


def claim(session: Session, delivery_id: int, now: datetime, lease: timedelta = LEASE) -> WebhookDelivery | None:
    """The delivery, leased to the caller until now + `lease`; None if it is not due (another worker took it,
    it finished, or its endpoint is disabled)."""
    taken = session.execute(
        update(WebhookDelivery).where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == PENDING,
                                      WebhookDelivery.next_attempt_at <= now,
                                      WebhookDelivery.endpoint_id.in_(_ENABLED))
        .values(next_attempt_at=now + lease).execution_options(synchronize_session=False))
    session.commit()
    if taken.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult
        return None
    return session.get(WebhookDelivery, delivery_id, populate_existing=True)


def record(session: Session, delivery: WebhookDelivery, answer: Answer, started_at: datetime, now: datetime,
           delays: Sequence[timedelta] = rules.RETRY_DELAYS) -> Recorded | None:
    """Record an attempt and what follows: delivered, tried again later (on the schedule `delays`), or
    failed; the endpoint's failing time, and its disabling after rules.DISABLE_AFTER. None: another worker
    recorded this attempt first, or the endpoint was deleted meanwhile."""
    number, outcome, disabled = delivery.attempts + 1, rules.outcome(answer.status_code), False
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id, populate_existing=True)
    if endpoint is None:  # deleted during the attempt, with its deliveries: nothing to record
        session.rollback()
        return None
    session.add(WebhookAttempt(delivery_id=delivery.id, number=number, started_at=started_at,
                               duration_ms=answer.duration_ms, status_code=answer.status_code, error=answer.error,
                               outcome=outcome))
    delivery.attempts, delivery.last_status_code, delivery.last_error = number, answer.status_code, answer.error
    if outcome is Outcome.DELIVERED:
        delivery.status, delivery.next_attempt_at, delivery.finished_at = SUCCEEDED, None, now
        endpoint.failing_since = None
    else:
        following = rules.next_attempt_at(number, now, delays) if outcome is Outcome.RETRY else None
        delivery.next_attempt_at = following
        if following is None:
            delivery.status, delivery.finished_at = FAILED, now
        endpoint.failing_since = endpoint.failing_since or started_at
        if endpoint.disabled_at is None and rules.should_disable(endpoint.failing_since, now):
            disabled = _disable(session, endpoint, answer, now)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return Recorded(outcome, disabled)


def last_failure(answer: Answer) -> str:
    """What went wrong with a failed attempt, in the endpoint's reason and its owner's email."""
    return answer.error or f"HTTP {answer.status_code}"


def _disable(session: Session, endpoint: WebhookEndpoint, answer: Answer, now: datetime) -> bool:
    """Disable the endpoint unless another worker's record just did: one conditional UPDATE, so exactly one
    record disables it (and its owner gets one email)."""
    reason = f"every attempt failed for {rules.DISABLE_AFTER.days} days; the last: {last_failure(answer)}"
    done = session.execute(
        update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id, WebhookEndpoint.disabled_at.is_(None))
        .values(disabled_at=now, disabled_reason=reason).execution_options(synchronize_session=False))
    if done.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult
        return False
    endpoint.disabled_at, endpoint.disabled_reason = now, reason
    return True

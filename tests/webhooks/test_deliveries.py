"""A delivery's life in the database (webhooks/deliveries.py): queued once per endpoint and event, claimed
by one worker at a time, its attempts recorded with what follows, the endpoint disabled after 3 days."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crowdexports.auth import accounts
from crowdexports.exports import lifecycle
from crowdexports.models import Export, Project, User, WebhookAttempt, WebhookDelivery, WebhookEndpoint, utcnow
from crowdexports.webhooks import deliveries, rules
from crowdexports.webhooks.deliveries import Recorded
from crowdexports.webhooks.rules import Outcome
from crowdexports.webhooks.sending import Answer

OK, DOWN, GONE = Answer(204, None, 5), Answer(None, "connection error: refused", 1), Answer(410, None, 3)


@pytest.fixture
def owner(session: Session) -> User:
    return accounts.create_user(session, username="alice", email="alice@example.org")


@pytest.fixture
def project(session: Session, owner: User) -> Project:
    return accounts.create_project(session, owner=owner, name="Solar Kettle")


@pytest.fixture
def export(session: Session, project: Project, owner: User) -> Export:
    return lifecycle.request(session, project=project, user=owner, type_="orders", format_="csv", columns=None)


def endpoint(session: Session, owner: User, events: list[str], project_id: int | None = None) -> WebhookEndpoint:
    made = WebhookEndpoint(user_id=owner.id, project_id=project_id, url="https://books.example/hook", events=events,
                           secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    session.add(made)
    session.commit()
    return made


def enqueue(session: Session, export: Export, owner: User, event: str, now: datetime) -> list[int]:
    made = deliveries.enqueue(session, export_id=export.id, project_id=export.project_id, owner_id=owner.id,
                              event=event, now=now)
    session.commit()  # the caller's transaction: the export's status change (webhooks.events)
    return made


def test_an_event_is_queued_once_for_each_endpoint_that_wants_it(session: Session, owner: User, project: Project,
                                                                 export: Export) -> None:
    everything = endpoint(session, owner, list(rules.EVENTS))
    this_project = endpoint(session, owner, ["export.succeeded"], project.id)
    endpoint(session, owner, ["export.failed"])  # another event
    other = accounts.create_project(session, owner=owner, name="Wind Spoon")
    endpoint(session, owner, ["export.succeeded"], other.id)  # another project
    disabled = endpoint(session, owner, ["export.succeeded"])
    disabled.disabled_at = utcnow()
    session.commit()
    now = utcnow()
    made = enqueue(session, export, owner, "export.succeeded", now)
    assert sorted(session.get_one(WebhookDelivery, id_).endpoint_id for id_ in made) == \
        sorted([everything.id, this_project.id])
    assert enqueue(session, export, owner, "export.succeeded", now) == []  # queued again: the same rows
    assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 2
    assert {session.get_one(WebhookDelivery, id_).event_id for id_ in made} == {
        rules.event_id(export.id, "export.succeeded")}


def test_one_claim_wins_and_a_lapsed_lease_makes_it_due_again(session: Session, owner: User,
                                                             export: Export) -> None:
    endpoint(session, owner, ["export.succeeded"])
    now = utcnow()
    [delivery_id] = enqueue(session, export, owner, "export.succeeded", now)
    assert deliveries.due(session, now, 10) == [delivery_id]
    assert deliveries.claim(session, delivery_id, now) is not None
    assert deliveries.claim(session, delivery_id, now) is None  # the second worker
    assert deliveries.due(session, now, 10) == []
    later = now + deliveries.LEASE  # the first worker was killed mid-attempt
    assert deliveries.due(session, later, 10) == [delivery_id]
    assert deliveries.claim(session, delivery_id, later) is not None


def test_failures_are_retried_on_the_schedule_then_delivered(session: Session, owner: User,
                                                             export: Export) -> None:
    hook = endpoint(session, owner, ["export.succeeded"])
    now = utcnow()
    [delivery_id] = enqueue(session, export, owner, "export.succeeded", now)
    delivery = deliveries.claim(session, delivery_id, now)
    assert delivery is not None
    assert deliveries.record(session, delivery, DOWN, now, now) == Recorded(Outcome.RETRY, disabled=False)
    assert delivery.next_attempt_at == now + rules.RETRY_DELAYS[0] and delivery.status == deliveries.PENDING
    assert hook.failing_since == now
    again = deliveries.claim(session, delivery_id, now + rules.RETRY_DELAYS[0])
    assert again is not None
    delivered = deliveries.record(session, again, OK, now, now + rules.RETRY_DELAYS[0])
    assert delivered == Recorded(Outcome.DELIVERED, disabled=False)
    assert (again.status, again.attempts, again.next_attempt_at) == (deliveries.SUCCEEDED, 2, None)
    session.refresh(hook)
    assert hook.failing_since is None
    assert [attempt.number for attempt in session.scalars(select(WebhookAttempt))] == [1, 2]


def test_another_client_error_is_not_retried(session: Session, owner: User, export: Export) -> None:
    endpoint(session, owner, ["export.succeeded"])
    now = utcnow()
    [delivery_id] = enqueue(session, export, owner, "export.succeeded", now)
    delivery = deliveries.claim(session, delivery_id, now)
    assert delivery is not None
    assert deliveries.record(session, delivery, GONE, now, now) == Recorded(Outcome.REFUSED, disabled=False)
    assert (delivery.status, delivery.next_attempt_at) == (deliveries.FAILED, None)


def test_a_late_record_of_the_same_attempt_is_refused(session: Session, owner: User, export: Export) -> None:
    endpoint(session, owner, ["export.succeeded"])
    now = utcnow()
    [delivery_id] = enqueue(session, export, owner, "export.succeeded", now)
    first = deliveries.claim(session, delivery_id, now)
    assert first is not None
    stale_attempts = first.attempts
    assert deliveries.record(session, first, DOWN, now, now) == Recorded(Outcome.RETRY, disabled=False)
    first.attempts = stale_attempts  # as a second worker that read the delivery before the first recorded
    assert deliveries.record(session, first, OK, now, now) is None
    assert session.scalar(select(func.count()).select_from(WebhookAttempt)) == 1


def test_an_endpoint_failing_for_three_days_is_disabled(session: Session, owner: User, export: Export) -> None:
    hook = endpoint(session, owner, ["export.succeeded"])
    start = utcnow()
    [delivery_id] = enqueue(session, export, owner, "export.succeeded", start)
    at = start
    while True:
        delivery = deliveries.claim(session, delivery_id, at)
        assert delivery is not None
        assert deliveries.record(session, delivery, DOWN, at, at) is not None
        if delivery.next_attempt_at is None:
            break
        at = delivery.next_attempt_at
    assert delivery.status == deliveries.FAILED and delivery.attempts == rules.MAX_ATTEMPTS
    session.refresh(hook)
    assert hook.disabled_at is None  # 27 h of failures: not yet
    second = lifecycle.request(session, project=session.get_one(Project, export.project_id), user=owner,
                               type_="orders", format_="csv", columns=None)
    later = start + timedelta(days=3)
    [next_id] = enqueue(session, second, owner, "export.succeeded", later)
    claimed = deliveries.claim(session, next_id, later)
    assert claimed is not None
    assert deliveries.record(session, claimed, DOWN, later, later) == Recorded(Outcome.RETRY, disabled=True)
    session.refresh(hook)
    assert hook.disabled_at == later and hook.disabled_reason is not None and "refused" in hook.disabled_reason
    assert enqueue(session, second, owner, "export.succeeded", later) == []
    assert deliveries.due(session, later + timedelta(days=1), 10) == []


def test_an_endpoint_deleted_during_the_attempt_records_nothing(session_factory: sessionmaker[Session],
                                                                session: Session, owner: User,
                                                                export: Export) -> None:
    hook = endpoint(session, owner, ["export.succeeded"])
    now = utcnow()
    [delivery_id] = enqueue(session, export, owner, "export.succeeded", now)
    delivery = deliveries.claim(session, delivery_id, now)
    assert delivery is not None
    with session_factory() as owner_session:  # the owner deletes it while the POST is under way
        owner_session.delete(owner_session.get_one(WebhookEndpoint, hook.id))
        owner_session.commit()
    assert deliveries.record(session, delivery, OK, now, now) is None
    assert session.scalar(select(func.count()).select_from(WebhookAttempt)) == 0

"""Webhook events queued when an export ends (webhooks/events.py, from exports/lifecycle.py): in the
transaction of the status change, so an end and its events are kept or lost together (an outbox)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crowdexports.exports import lifecycle
from crowdexports.models import Export, Project, User, WebhookDelivery, WebhookEndpoint, utcnow
from crowdexports.webhooks import deliveries, rules
from tests.factories import make_project, make_user

LEASE = 30.0


@pytest.fixture
def owner(session: Session) -> User:
    return make_user(session)


@pytest.fixture
def project(session: Session, owner: User) -> Project:
    return make_project(session, owner)


@pytest.fixture
def hook(session: Session, owner: User) -> WebhookEndpoint:
    made = WebhookEndpoint(user_id=owner.id, url="https://books.example/hook", events=list(rules.EVENTS),
                           secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    session.add(made)
    session.commit()
    return made


def _claimed(session: Session, project: Project, owner: User) -> lifecycle.Claim:
    export = lifecycle.request(session, project=project, user=owner, type_="orders", format_="csv", columns=None)
    claim = lifecycle.claim(session, export.id, worker="w", lease_seconds=LEASE, max_attempts=1)
    assert claim is not None
    return claim


def _succeed(session: Session, claim: lifecycle.Claim) -> bool:
    return lifecycle.succeed(session, claim, storage_key="k", file_name="f.csv", size=3, row_count=1,
                             sha256="0" * 64, expires_at=utcnow() + timedelta(days=1))


def _queued(session: Session) -> list[tuple[int, str, str]]:
    session.rollback()  # read what was committed
    return [(row.export_id, row.event, row.event_id) for row in
            session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))]


def test_each_end_queues_its_event(session: Session, owner: User, project: Project, hook: WebhookEndpoint) -> None:
    succeeded = _claimed(session, project, owner)
    assert _succeed(session, succeeded)
    failed = _claimed(session, project, owner)
    assert lifecycle.fail(session, failed, "boom")
    canceled = lifecycle.request(session, project=project, user=owner, type_="orders", format_="csv", columns=None)
    lifecycle.cancel(session, canceled, by_user_id=owner.id)
    lost = _claimed(session, project, owner)  # its worker died on its last attempt
    later = utcnow() + timedelta(seconds=LEASE + 1)
    assert lifecycle.fail_exhausted(session, max_attempts=1, now=later) == [lost.export_id]
    assert _queued(session) == [
        (succeeded.export_id, "export.succeeded", rules.event_id(succeeded.export_id, "export.succeeded")),
        (failed.export_id, "export.failed", rules.event_id(failed.export_id, "export.failed")),
        (canceled.id, "export.canceled", rules.event_id(canceled.id, "export.canceled")),
        (lost.export_id, "export.failed", rules.event_id(lost.export_id, "export.failed"))]
    assert deliveries.due(session, utcnow(), 10) != []


def test_a_refused_change_queues_nothing(session: Session, owner: User, project: Project,
                                         hook: WebhookEndpoint) -> None:
    claim = _claimed(session, project, owner)
    lifecycle.cancel(session, session.get_one(Export, claim.export_id), by_user_id=owner.id)
    assert not _succeed(session, claim)  # canceled meanwhile: the worker's success is refused
    assert [event for _, event, _ in _queued(session)] == ["export.canceled"]


def test_a_failed_queueing_keeps_the_export_as_it_was(session: Session, owner: User, project: Project,
                                                      hook: WebhookEndpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    """The crash between the status change and its events: neither is committed."""
    claim = _claimed(session, project, owner)

    def crash(*args: object, **kwargs: object) -> list[int]:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(deliveries, "enqueue", crash)
    with pytest.raises(RuntimeError):
        _succeed(session, claim)
    session.rollback()
    assert session.get_one(Export, claim.export_id, populate_existing=True).status == "processing"
    assert _queued(session) == []
    monkeypatch.undo()
    assert _succeed(session, claim)  # the worker (or the next attempt) ends it: one event
    assert [event for _, event, _ in _queued(session)] == ["export.succeeded"]


def test_an_export_of_someone_else_queues_nothing_for_this_owner(session: Session, owner: User,
                                                                 hook: WebhookEndpoint) -> None:
    stranger = make_user(session, username="stranger")
    claim = _claimed(session, make_project(session, stranger), stranger)
    assert _succeed(session, claim)
    assert _queued(session) == []

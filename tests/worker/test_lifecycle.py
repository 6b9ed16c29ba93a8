"""The export state machine against the selected stack's database: claims, fencing, cancel races, email states."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crowdexports.errors import Conflict
from crowdexports.exports import lifecycle
from crowdexports.models import Export, ExportEvent, Project, User, utcnow
from tests.factories import make_project, make_user

LEASE = 30.0
PAST_LEASE = timedelta(seconds=LEASE + 1)  # how far a test moves `now` for a lease to run out, instead of sleeping


def _request(session: Session, project: Project, owner: User) -> Export:
    return lifecycle.request(session, project=project, user=owner, type_="orders", format_="csv", columns=None)


def _succeed(session: Session, claim: lifecycle.Claim) -> bool:
    return lifecycle.succeed(session, claim, storage_key=f"k{claim.attempt}", file_name="f.csv", size=3,
                             row_count=1, sha256="0" * 64, expires_at=utcnow() + timedelta(days=1))


@pytest.fixture
def owner_project(session: Session) -> tuple[User, Project]:
    owner = make_user(session)
    return owner, make_project(session, owner)


def test_claim_is_taken_once_and_replay_claims_nothing(session: Session, owner_project: tuple[User, Project]) -> None:
    export = _request(session, owner_project[1], owner_project[0])
    first = lifecycle.claim(session, export.id, worker="w1", lease_seconds=LEASE, max_attempts=3)
    assert first is not None and first.attempt == 1
    assert lifecycle.claim(session, export.id, worker="w2", lease_seconds=LEASE, max_attempts=3) is None
    assert _succeed(session, first)
    assert lifecycle.claim(session, export.id, worker="w3", lease_seconds=LEASE, max_attempts=3) is None
    assert session.get_one(Export, export.id, populate_existing=True).status == "succeeded"


def test_parallel_claims_have_exactly_one_winner(session_factory: sessionmaker[Session],
                                                 owner_project: tuple[User, Project]) -> None:
    owner, project = owner_project
    for _ in range(20):
        with session_factory() as session:
            export_id = _request(session, session.merge(project), session.merge(owner)).id
        winners: list[lifecycle.Claim] = []
        barrier = threading.Barrier(8)

        def contend(export_id: int = export_id, barrier: threading.Barrier = barrier,
                    winners: list[lifecycle.Claim] = winners) -> None:
            with session_factory() as own:
                barrier.wait()
                won = lifecycle.claim(own, export_id, worker=threading.current_thread().name, lease_seconds=LEASE,
                                      max_attempts=3)
                if won:
                    winners.append(won)

        threads = [threading.Thread(target=contend) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(winners) == 1


def test_expired_lease_is_retaken_and_the_zombie_is_fenced(session: Session,
                                                           owner_project: tuple[User, Project]) -> None:
    export = _request(session, owner_project[1], owner_project[0])
    start = utcnow()
    zombie = lifecycle.claim(session, export.id, worker="zombie", lease_seconds=LEASE, max_attempts=3, now=start)
    assert zombie is not None
    assert lifecycle.claim(session, export.id, worker="heir", lease_seconds=LEASE, max_attempts=3,
                           now=start + PAST_LEASE - timedelta(seconds=2)) is None  # not before the lease runs out
    heir = lifecycle.claim(session, export.id, worker="heir", lease_seconds=LEASE, max_attempts=3,
                           now=start + PAST_LEASE)
    assert heir is not None and heir.attempt == 2
    assert not lifecycle.renew(session, zombie, lease_seconds=LEASE, rows_done=5, rows_estimated=9)
    assert not _succeed(session, zombie)
    assert not lifecycle.fail(session, zombie, "zombie failure")
    assert _succeed(session, heir)
    row = session.get_one(Export, export.id, populate_existing=True)
    assert (row.status, row.storage_key, row.attempt) == ("succeeded", "k2", 2)


def test_progress_is_renewed_and_starts_again_with_each_attempt(session: Session,
                                                                owner_project: tuple[User, Project]) -> None:
    export = _request(session, owner_project[1], owner_project[0])

    def progress() -> tuple[int, int | None]:
        row = session.get_one(Export, export.id, populate_existing=True)
        return row.rows_done, row.rows_estimated

    first = lifecycle.claim(session, export.id, worker="w1", lease_seconds=LEASE, max_attempts=3)
    assert first is not None and progress() == (0, None)
    assert lifecycle.renew(session, first, lease_seconds=LEASE, rows_done=0, rows_estimated=40)
    assert lifecycle.renew(session, first, lease_seconds=LEASE, rows_done=30, rows_estimated=40)
    assert progress() == (30, 40)
    assert lifecycle.hand_back(session, first) and progress() == (0, None)
    start = utcnow()
    second = lifecycle.claim(session, export.id, worker="w2", lease_seconds=LEASE, max_attempts=3, now=start)
    assert second is not None
    assert lifecycle.renew(session, second, lease_seconds=LEASE, rows_done=10, rows_estimated=41, now=start)
    # its worker dies: the next claim, once the lease has run out, starts from nothing
    assert lifecycle.claim(session, export.id, worker="w3", lease_seconds=LEASE, max_attempts=3,
                           now=start + PAST_LEASE) is not None
    assert progress() == (0, None)


def test_retry_limit_then_failed_with_reason(session: Session, owner_project: tuple[User, Project]) -> None:
    export = _request(session, owner_project[1], owner_project[0])
    now = utcnow()
    for attempt in (1, 2):
        claim = lifecycle.claim(session, export.id, worker="w", lease_seconds=LEASE, max_attempts=2, now=now)
        assert claim is not None and claim.attempt == attempt
        assert lifecycle.fail_exhausted(session, max_attempts=2, now=now) == []  # its lease still runs
        now += PAST_LEASE
    assert lifecycle.claim(session, export.id, worker="w", lease_seconds=LEASE, max_attempts=2, now=now) is None
    assert lifecycle.fail_exhausted(session, max_attempts=2, now=now) == [export.id]
    row = session.get_one(Export, export.id, populate_existing=True)
    assert row.status == "failed" and "2 times" in (row.error or "") and row.email_status == "pending"


def test_cancel_waiting_then_claim_and_second_cancel(session: Session, owner_project: tuple[User, Project]) -> None:
    owner, project = owner_project
    export = _request(session, project, owner)
    assert lifecycle.cancel(session, export, by_user_id=owner.id).status == "canceled"
    assert lifecycle.claim(session, export.id, worker="w", lease_seconds=LEASE, max_attempts=3) is None
    with pytest.raises(Conflict):
        lifecycle.cancel(session, export, by_user_id=owner.id)


def test_cancel_during_processing_stops_the_worker_writes(session: Session,
                                                           owner_project: tuple[User, Project]) -> None:
    owner, project = owner_project
    export = _request(session, project, owner)
    claim = lifecycle.claim(session, export.id, worker="w", lease_seconds=LEASE, max_attempts=3)
    assert claim is not None
    lifecycle.cancel(session, export, by_user_id=owner.id)
    assert not lifecycle.renew(session, claim, lease_seconds=LEASE, rows_done=1, rows_estimated=None)
    assert not _succeed(session, claim)
    row = session.get_one(Export, export.id, populate_existing=True)
    assert row.status == "canceled" and row.email_status == "none" and row.storage_key is None


def test_finished_export_cannot_be_canceled(session: Session, owner_project: tuple[User, Project]) -> None:
    owner, project = owner_project
    export = _request(session, project, owner)
    claim = lifecycle.claim(session, export.id, worker="w", lease_seconds=LEASE, max_attempts=3)
    assert claim is not None and _succeed(session, claim)
    with pytest.raises(Conflict):
        lifecycle.cancel(session, export, by_user_id=owner.id)


def test_created_at_is_unique_per_project_even_in_a_burst(session: Session,
                                                          owner_project: tuple[User, Project]) -> None:
    owner, project = owner_project
    exports = [_request(session, project, owner) for _ in range(50)]
    stamps = [e.created_at for e in exports]
    assert len(set(stamps)) == 50 and stamps == sorted(stamps)


def test_concurrent_requests_get_unique_created_at(session_factory: sessionmaker[Session],
                                                   owner_project: tuple[User, Project]) -> None:
    """Racing requests for one project collide on the unique index; each retries, none is lost."""
    owner, project = owner_project
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def burst() -> None:
        try:
            with session_factory() as own:
                mine, by = own.merge(project), own.merge(owner)
                barrier.wait()
                for _ in range(10):
                    _request(own, mine, by)
        except BaseException as error:  # a thread cannot fail the test itself: the assertion below does
            errors.append(error)

    threads = [threading.Thread(target=burst) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with session_factory() as check:
        stamps = list(check.scalars(select(Export.created_at).where(Export.project_id == project.id)))
    assert len(stamps) == len(set(stamps)) == 60


def test_email_is_taken_once_and_retry_waits(session: Session, owner_project: tuple[User, Project]) -> None:
    export = _request(session, owner_project[1], owner_project[0])
    claim = lifecycle.claim(session, export.id, worker="w", lease_seconds=LEASE, max_attempts=3)
    assert claim is not None and _succeed(session, claim)
    assert lifecycle.due_emails(session) == [export.id]
    assert lifecycle.begin_email(session, export.id, lease_seconds=LEASE) is not None
    assert lifecycle.begin_email(session, export.id, lease_seconds=LEASE) is None
    start = utcnow()
    assert lifecycle.email_retry_later(session, export.id, "421 busy", delay_seconds=60, now=start)
    assert lifecycle.due_emails(session, now=start + timedelta(seconds=59)) == []
    assert lifecycle.begin_email(session, export.id, lease_seconds=LEASE, now=start + timedelta(seconds=59)) is None
    later = start + timedelta(seconds=60)
    assert lifecycle.due_emails(session, now=later) == [export.id]
    taken = lifecycle.begin_email(session, export.id, lease_seconds=LEASE, now=later)
    assert taken is not None and taken.email_attempts == 2
    assert lifecycle.email_sent(session, export.id)
    assert not lifecycle.email_sent(session, export.id)
    assert lifecycle.begin_email(session, export.id, lease_seconds=LEASE) is None


@pytest.mark.parametrize(("resend_is_safe", "expected"), [(True, "pending"), (False, "unknown")])
def test_a_worker_dying_while_sending(session: Session, owner_project: tuple[User, Project],
                                      resend_is_safe: bool, expected: str) -> None:
    export = _request(session, owner_project[1], owner_project[0])
    claim = lifecycle.claim(session, export.id, worker="w", lease_seconds=LEASE, max_attempts=3)
    assert claim is not None and _succeed(session, claim)
    start = utcnow()
    assert lifecycle.begin_email(session, export.id, lease_seconds=LEASE, now=start) is not None
    assert lifecycle.recover_stale_sending(session, resend_is_safe=resend_is_safe, now=start) == []  # still sending
    assert lifecycle.recover_stale_sending(session, resend_is_safe=resend_is_safe, now=start + PAST_LEASE) == [
        export.id]
    assert session.get_one(Export, export.id, populate_existing=True).email_status == expected


def test_sweep_finds_lost_messages_and_dead_workers(session: Session, owner_project: tuple[User, Project]) -> None:
    owner, project = owner_project
    lost = _request(session, project, owner)
    dead = _request(session, project, owner)
    start = utcnow()
    assert lifecycle.claim(session, dead.id, worker="w", lease_seconds=LEASE, max_attempts=3, now=start) is not None
    assert lifecycle.due_for_dispatch(session, redispatch_after=timedelta(seconds=60), now=start) == []
    now = start + PAST_LEASE  # the worker died: its lease runs out
    assert lifecycle.due_for_dispatch(session, redispatch_after=timedelta(seconds=60), now=now) == [dead.id]
    assert sorted(lifecycle.due_for_dispatch(session, redispatch_after=timedelta(0), now=now)) == [lost.id, dead.id]
    lifecycle.mark_dispatched(session, [lost.id, dead.id], now=now)
    assert lifecycle.due_for_dispatch(session, redispatch_after=timedelta(seconds=60), now=now) == []


def test_every_transition_is_logged(session: Session, owner_project: tuple[User, Project]) -> None:
    export = _request(session, owner_project[1], owner_project[0])
    claim = lifecycle.claim(session, export.id, worker="w", lease_seconds=LEASE, max_attempts=3)
    assert claim is not None and lifecycle.fail(session, claim, "disk full")
    kinds = list(session.scalars(select(ExportEvent.kind).where(ExportEvent.export_id == export.id)
                                 .order_by(ExportEvent.id)))
    assert kinds == ["requested", "claimed", "failed"]
    assert session.scalar(select(func.count()).select_from(ExportEvent)) == 3

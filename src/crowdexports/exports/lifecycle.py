"""THE export state machine (SPEC §4). API, worker, CLI and sweep change an export only through here.

Every transition is one conditional UPDATE (plus an event row) in one transaction, so concurrent
actors can never both win: a replayed message claims nothing, a cancel and a finish cannot both
land, and a worker that lost its lease (fenced on `attempt`) can change nothing.

    waiting ──claim──▶ processing ──succeed──▶ succeeded
       │                  │  ▲ lease expired: claim again (attempt+1, up to max_attempts)
       │                  ├──fail──▶ failed
       └──cancel──────────┴──cancel──▶ canceled

Each move to succeeded, failed or canceled queues the export's webhook events in its own transaction
(`_ended`, webhooks.events: an outbox).

Email (after succeeded or failed): pending ─begin─▶ sending ─▶ sent | failed | unknown,
with `sending ─retry_later─▶ pending` on transient errors.

The transitions that set or compare a lease take `now` (default: `utcnow()`), so that a test moves
time past a lease instead of sleeping through it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from crowdexports.errors import Conflict, RateLimited
from crowdexports.exports import failures
from crowdexports.exports.statuses import EmailStatus, ExportStatus
from crowdexports.exports.summary import Summary
from crowdexports.models import Export, ExportEvent, Project, User, UserRecord, utcnow
from crowdexports.webhooks import events

ACTIVE = (ExportStatus.WAITING, ExportStatus.PROCESSING)
ENDED = (ExportStatus.SUCCEEDED, ExportStatus.FAILED, ExportStatus.CANCELED)
MICROSECOND = timedelta(microseconds=1)
ACTIVE_CAP_RETRY_SECONDS = 10  # a small export is done in about a second; a large one in about a minute


@dataclass(frozen=True)
class Claim:
    """Proof that one worker holds export `export_id` for attempt number `attempt`."""

    export_id: int
    attempt: int
    worker: str


def _log(session: Session, export_id: int, kind: str, detail: str = "") -> None:
    session.add(ExportEvent(export_id=export_id, kind=kind, detail=detail[:4000]))


def _ended(session: Session, export_ids: Sequence[int], status: ExportStatus, now: datetime | None = None) -> None:
    """Exports that have just ended in `status`, before their transaction commits: their webhook events are
    queued in it, so the end and its events are kept or lost together."""
    events.queue_finished(session, export_ids, status, now or utcnow())


def _fenced(claim: Claim) -> ColumnElement[bool]:
    return and_(Export.id == claim.export_id, Export.attempt == claim.attempt, Export.status == ExportStatus.PROCESSING)


# Session.execute is typed to return a Result; an UPDATE's is a CursorResult, whose rowcount the
# `type: ignore[attr-defined]` comments below read.
def _fenced_update(session: Session, claim: Claim, kind: str, detail: str, **values: object) -> bool:
    """Apply `values` only while the claim is still ours; log the event. False: someone else moved it."""
    result = session.execute(
        update(Export).where(_fenced(claim)).values(**values).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return False
    _log(session, claim.export_id, kind, detail)
    status = values.get("status")
    if isinstance(status, ExportStatus) and status in ENDED:
        _ended(session, [claim.export_id], status)
    session.commit()
    return True


def request(
    session: Session, *, project: Project, user: User | UserRecord, type_: str, format_: str,
    columns: dict[str, str] | None, options: dict[str, Any] | None = None, max_active: int | None = None,
    retry_of: int | None = None, with_export: Callable[[Export], None] | None = None,
) -> Export:
    """Create a `waiting` export. Arguments are already validated (see exports.requests). `retry_of`: the
    failed or canceled export it repeats (exports.retries).

    `created_at` is unique per project (bumped by 1 µs on a tie) so the list's `since` cursor,
    which is that timestamp, never skips nor repeats an export.

    `max_active`: at most that many exports of the project waiting or processing at once, the new one
    included; more is RateLimited. Counted after the insert, in its transaction: SQLite's write lock,
    and on PostgreSQL the project row locked first, keep two concurrent requests from both passing.

    `with_export` runs in the export's transaction, after its insert and before the cap is counted: the
    idempotency key's row (exports.idempotency), whose unique constraint must settle a race between two
    requests with one key (its IntegrityError is raised to the caller) before the cap could refuse one.
    """
    for _ in range(20):
        if max_active is not None:
            session.execute(select(Project.id).where(Project.id == project.id).with_for_update())
        now = utcnow()
        latest = session.scalar(select(func.max(Export.created_at)).where(Export.project_id == project.id))
        if latest is not None and latest >= now:
            now = latest + MICROSECOND
        export = Export(
            project_id=project.id, user_id=user.id, type=type_, format=format_, columns=columns,
            options=options, status=ExportStatus.WAITING, created_at=now, dispatched_at=now, retry_of=retry_of,
        )
        session.add(export)
        try:
            session.flush()
        except IntegrityError:
            session.rollback()
            continue
        if with_export is not None:
            with_export(export)
        if max_active is not None and _active_count(session, project.id) > max_active:
            session.rollback()
            raise RateLimited(f"project {project.id} has {max_active} exports waiting or processing already: "
                              "wait for one to finish", ACTIVE_CAP_RETRY_SECONDS)
        _log(session, export.id, "requested", f"{type_}/{format_} by user {user.id}"
             + (f", retrying export {retry_of}" if retry_of is not None else ""))
        session.commit()
        return export
    raise Conflict("too many exports created at once for this project; try again")


def _active_count(session: Session, project_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Export).where(
        Export.project_id == project_id, Export.status.in_(ACTIVE))) or 0


def claim(session: Session, export_id: int, *, worker: str, lease_seconds: float, max_attempts: int,
          now: datetime | None = None) -> Claim | None:
    """Take a waiting export, or one whose worker's lease ran out; None if someone else has it."""
    now = now or utcnow()
    attempt = session.execute(
        update(Export)
        .where(
            Export.id == export_id,
            Export.attempt < max_attempts,
            or_(Export.status == ExportStatus.WAITING,
                and_(Export.status == ExportStatus.PROCESSING, Export.lease_until < now)),
        )
        .values(
            status=ExportStatus.PROCESSING, attempt=Export.attempt + 1, worker=worker, started_at=now,
            lease_until=now + timedelta(seconds=lease_seconds), rows_done=0, rows_estimated=None,
        )
        .returning(Export.attempt)
        .execution_options(synchronize_session=False)
    ).scalar()
    if attempt is None:
        session.rollback()
        return None
    _log(session, export_id, "claimed", f"attempt {attempt} by {worker}")
    session.commit()
    return Claim(export_id, attempt, worker)


def renew(session: Session, claim: Claim, *, lease_seconds: float, rows_done: int,
          rows_estimated: int | None, now: datetime | None = None) -> bool:
    """Extend the lease and record progress: rows written, and rows expected once the pipeline has
    counted them (None: not yet). False means stop: canceled, or the lease was lost."""
    result = session.execute(
        update(Export)
        .where(_fenced(claim))
        .values(lease_until=(now or utcnow()) + timedelta(seconds=lease_seconds), rows_done=rows_done,
                rows_estimated=rows_estimated)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    renewed: int = result.rowcount  # type: ignore[attr-defined]
    return renewed == 1


def succeed(
    session: Session, claim: Claim, *, storage_key: str, file_name: str, size: int, row_count: int,
    sha256: str, expires_at: datetime, changes_upto: int | None = None, summary: Summary | None = None,
) -> bool:
    """Record the published file and its control totals (exports.summary). False if the claim is no longer
    ours (the caller drops its file)."""
    return _fenced_update(
        session, claim, "succeeded", f"{row_count} rows, {size} bytes",
        status=ExportStatus.SUCCEEDED, finished_at=utcnow(), lease_until=None, storage_key=storage_key,
        file_name=file_name, size=size, sha256=sha256, row_count=row_count, rows_done=row_count, expires_at=expires_at,
        error=None, email_status=EmailStatus.PENDING, changes_upto=changes_upto, summary=summary,
    )


def fail(session: Session, claim: Claim, error: str) -> bool:
    """End the export as failed with a readable reason; the owner is then told by email."""
    return _fenced_update(session, claim, "failed", error, status=ExportStatus.FAILED, finished_at=utcnow(),
                          lease_until=None, error=error[:2000], email_status=EmailStatus.PENDING)


def hand_back(session: Session, claim: Claim) -> bool:
    """A worker shutting down returns its export to `waiting`; the attempt does not count against it."""
    return _fenced_update(session, claim, "handed_back", f"attempt {claim.attempt} by {claim.worker}",
                          status=ExportStatus.WAITING, attempt=Export.attempt - 1, lease_until=None, worker=None,
                          rows_done=0, rows_estimated=None, dispatched_at=utcnow())


def cancel(session: Session, export: Export, *, by_user_id: int | None) -> Export:
    """The project's owner, staff (API, page) or an operator (CLI, `by_user_id` None) cancel. A running
    worker sees it at its next heartbeat and stops; no file, no email."""
    result = session.execute(
        update(Export)
        .where(Export.id == export.id, Export.status.in_((ExportStatus.WAITING, ExportStatus.PROCESSING)))
        .values(status=ExportStatus.CANCELED, finished_at=utcnow(), lease_until=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        session.refresh(export)
        raise Conflict(f"export {export.id} is already {export.status}")
    _log(session, export.id, "canceled", "by an operator" if by_user_id is None else f"by user {by_user_id}")
    _ended(session, [export.id], ExportStatus.CANCELED)
    session.commit()
    session.refresh(export)
    return export


def mark_dispatched(session: Session, export_ids: Sequence[int], *, now: datetime | None = None) -> None:
    if export_ids:
        session.execute(
            update(Export).where(Export.id.in_(export_ids)).values(dispatched_at=now or utcnow())
            .execution_options(synchronize_session=False)
        )
        session.commit()


def fail_exhausted(session: Session, *, max_attempts: int, now: datetime | None = None) -> list[int]:
    """Exports whose last allowed attempt lost its worker end `failed`; returns their ids."""
    now = now or utcnow()
    ids = list(session.scalars(
        update(Export)
        .where(Export.status == ExportStatus.PROCESSING, Export.lease_until < now, Export.attempt >= max_attempts)
        .values(
            status=ExportStatus.FAILED, finished_at=now, lease_until=None, email_status=EmailStatus.PENDING,
            error=failures.worker_lost(max_attempts),
        )
        .returning(Export.id)
        .execution_options(synchronize_session=False)
    ))
    for export_id in ids:
        _log(session, export_id, "failed", f"worker lost ({max_attempts} attempts)")
    _ended(session, ids, ExportStatus.FAILED, now)
    session.commit()
    return ids


def due_for_dispatch(session: Session, *, redispatch_after: timedelta, now: datetime | None = None) -> list[int]:
    """Waiting exports whose message may be lost, and running ones whose worker died."""
    now = now or utcnow()
    ids = list(session.scalars(
        select(Export.id).where(or_(
            and_(Export.status == ExportStatus.WAITING,
                 or_(Export.dispatched_at.is_(None), Export.dispatched_at < now - redispatch_after)),
            and_(Export.status == ExportStatus.PROCESSING, Export.lease_until < now,
                 or_(Export.dispatched_at.is_(None), Export.dispatched_at < Export.lease_until,
                     Export.dispatched_at < now - redispatch_after)),
        )).order_by(Export.id).limit(1000)
    ))
    session.rollback()
    return ids


# --- email -------------------------------------------------------------------------------------

def begin_email(session: Session, export_id: int, *, lease_seconds: float,
                now: datetime | None = None) -> Export | None:
    """Take the right to send this export's one email; None if it is not due or someone has it."""
    now = now or utcnow()
    result = session.execute(
        update(Export)
        .where(
            Export.id == export_id, Export.email_status == EmailStatus.PENDING,
            Export.status.in_((ExportStatus.SUCCEEDED, ExportStatus.FAILED)),
            or_(Export.email_lease_until.is_(None), Export.email_lease_until <= now),
        )
        .values(email_status=EmailStatus.SENDING, email_attempts=Export.email_attempts + 1,
                email_lease_until=now + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return None
    session.commit()
    return session.get(Export, export_id, populate_existing=True)


def _end_email(session: Session, export_id: int, kind: str, detail: str, **values: object) -> bool:
    result = session.execute(
        update(Export).where(Export.id == export_id, Export.email_status == EmailStatus.SENDING).values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return False
    _log(session, export_id, kind, detail)
    session.commit()
    return True


def email_sent(session: Session, export_id: int) -> bool:
    return _end_email(session, export_id, "emailed", "", email_status=EmailStatus.SENT, emailed_at=utcnow(),
                      email_error=None, email_lease_until=None)


def email_retry_later(session: Session, export_id: int, error: str, *, delay_seconds: float,
                      now: datetime | None = None) -> bool:
    """Transient failure: back to pending, not to be tried before `delay_seconds` from now."""
    return _end_email(session, export_id, "email_retry", error, email_status=EmailStatus.PENDING,
                      email_error=error[:2000], email_lease_until=(now or utcnow()) + timedelta(seconds=delay_seconds))


def email_failed(session: Session, export_id: int, error: str) -> bool:
    return _end_email(session, export_id, "email_failed", error, email_status=EmailStatus.FAILED,
                      email_error=error[:2000], email_lease_until=None)


def email_unknown(session: Session, export_id: int, error: str) -> bool:
    """The server may have accepted the message: record it and never send again (at most once)."""
    return _end_email(session, export_id, "email_unknown", error, email_status=EmailStatus.UNKNOWN,
                      email_error=error[:2000], email_lease_until=None)


def due_emails(session: Session, *, now: datetime | None = None) -> list[int]:
    """Emails that are pending and due, for the sweep to dispatch (their message may be lost)."""
    now = now or utcnow()
    ids = list(session.scalars(
        select(Export.id).where(
            Export.email_status == EmailStatus.PENDING,
            or_(Export.email_lease_until.is_(None), Export.email_lease_until <= now),
        ).order_by(Export.id).limit(1000)
    ))
    session.rollback()
    return ids


def recover_stale_sending(session: Session, *, resend_is_safe: bool, now: datetime | None = None) -> list[int]:
    """A worker died while sending. With an idempotent mailer (outbox) try again, else record `unknown`."""
    now = now or utcnow()
    stale = and_(Export.email_status == EmailStatus.SENDING, Export.email_lease_until < now)
    if resend_is_safe:
        values: dict[str, object] = {"email_status": EmailStatus.PENDING, "email_lease_until": None}
    else:
        values = {"email_status": EmailStatus.UNKNOWN, "email_lease_until": None,
                  "email_error": "The worker stopped while the mail server had the message; not resent."}
    ids = list(session.scalars(
        update(Export).where(stale).values(**values).returning(Export.id)
        .execution_options(synchronize_session=False)
    ))
    for export_id in ids:
        _log(session, export_id, "email_recovered", str(values["email_status"]))
    session.commit()
    return ids


# --- retention ---------------------------------------------------------------------------------

def file_expired(session: Session, export_id: int, storage_key: str, *, now: datetime) -> bool:
    """Forget the file of an expired export (retention deleted it): `url` stays null, the link 404s.

    Conditioned on the same key and a past expiry, so a row that changed meanwhile is left alone.
    """
    result = session.execute(
        update(Export)
        .where(Export.id == export_id, Export.status == ExportStatus.SUCCEEDED, Export.storage_key == storage_key,
               Export.expires_at <= now)
        .values(storage_key=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return False
    _log(session, export_id, "file_expired", storage_key)
    session.commit()
    return True

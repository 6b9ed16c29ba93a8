"""`Idempotency-Key` on `POST /v1/projects/{id}/exports`, by Stripe's rules (docs/decisions.md "Idempotency").

A key names one request of one user for KEY_LIFETIME: sent again with the same project and body, it answers
the export it made (a replay); with anything else, IdempotencyKeyReused (422). Only a request that made an
export stores its key, in the export's own transaction: a refused one (400, 429) can be sent again, fixed,
with the same key. Two requests racing with one key are settled by the unique (user_id, key): the loser's
insert fails, and it replays the winner's export. Older keys are ignored, may be used again, and are purged
by the retention sweep.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crowdexports.errors import IdempotencyKeyReused, invalid
from crowdexports.models import Export, IdempotencyKey, utcnow

HEADER = "Idempotency-Key"
KEY_LIFETIME = timedelta(hours=24)
_KEY = re.compile(r"[\x20-\x7e]{1,255}")  # printable ASCII, as Stripe takes them


def parse_key(raw: str | None) -> str | None:
    """The header's key (None when absent); a 400 on the header unless 1 to 255 printable ASCII characters."""
    if raw is None:
        return None
    if not _KEY.fullmatch(raw):
        raise invalid(HEADER, "must be 1 to 255 printable ASCII characters")
    return raw


@dataclass(frozen=True)
class Keyed:
    """A request sent with a key: whose, the key, and what was asked (`fingerprint`)."""

    user_id: int
    key: str
    fingerprint: str


def keyed(user_id: int, key: str, project_id: int, payload: Mapping[str, object]) -> Keyed:
    """The fingerprint is a SHA-256 of the project id and the body as canonical JSON (sorted keys, no
    spaces): the same request however its JSON is spaced or its fields ordered."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(f"{project_id}\n{canonical}".encode()).hexdigest()
    return Keyed(user_id, key, digest)



def replayed_export(session: Session, request: Keyed, now: datetime | None = None) -> Export | None:
    """The export the key made, if it is live and was sent with this request; None if it is unknown."""
    row = session.scalar(select(IdempotencyKey).where(
        IdempotencyKey.user_id == request.user_id, IdempotencyKey.key == request.key,
        IdempotencyKey.created_at > (now or utcnow()) - KEY_LIFETIME))
    if row is None:
        return None
    if row.fingerprint != request.fingerprint:
        raise IdempotencyKeyReused(f"This {HEADER} was used for another request within "
                                   f"{int(KEY_LIFETIME.total_seconds() // 3600)} hours: use a new key.")
    return session.get_one(Export, row.export_id)


def record(session: Session, request: Keyed, export: Export) -> None:
    """Store the key with its export, in the export's transaction (lifecycle.request's `with_export`). An
    expired row of the key goes first: the key may be used again. A concurrent request's row makes the
    flush fail with IntegrityError (on PostgreSQL after waiting for that request's transaction)."""
    now = utcnow()
    session.execute(delete(IdempotencyKey).where(
        IdempotencyKey.user_id == request.user_id, IdempotencyKey.key == request.key,
        IdempotencyKey.created_at <= now - KEY_LIFETIME))
    session.add(IdempotencyKey(user_id=request.user_id, key=request.key, fingerprint=request.fingerprint,
                               export_id=export.id, created_at=now))
    session.flush()


def purge_expired(session: Session, now: datetime | None = None) -> int:
    """Forget keys past their lifetime (the retention sweep); returns how many."""
    result = session.execute(delete(IdempotencyKey).where(
        IdempotencyKey.created_at <= (now or utcnow()) - KEY_LIFETIME))
    session.commit()
    purged: int = result.rowcount  # type: ignore[attr-defined]
    return purged

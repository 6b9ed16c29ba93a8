"""Tables. Money is integer minor units; times are UTC; secrets are stored only as hashes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    select,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column

from crowdexports.database.engine import metadata
from crowdexports.exports.statuses import EmailStatus, ExportStatus


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC (sortable text on SQLite), always hands back aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)

    @staticmethod
    def from_driver(stored: str | datetime) -> datetime:
        """The aware UTC datetime from a value as the database driver returns it, for code that reads
        a DBAPI cursor itself: a naive datetime (PostgreSQL) or SQLAlchemy's ISO text (SQLite)."""
        if isinstance(stored, str):
            return datetime.fromisoformat(stored + "+00:00")  # one C call: 5x faster than parse, then replace
        return stored.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = metadata
    if TYPE_CHECKING:
        __table__: ClassVar[Table]  # every model is mapped to a Table; the ORM types it as any FromClause


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    first_name: Mapped[str] = mapped_column(String(150), default="")
    last_name: Mapped[str] = mapped_column(String(150), default="")
    name: Mapped[str] = mapped_column(String(300), default="")
    lang: Mapped[str] = mapped_column(String(10), default="en")
    is_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    # False refuses every credential of the user at once: the caller lookups join on it (auth/credentials.py).
    # A server default only: the bulk inserts (seed, order import) name their columns and leave it out.
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=true())
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user as the API's hot reads give it (the caller, a recipient): the fields, without an ORM instance's cost."""

    id: int
    username: str
    email: str
    first_name: str
    last_name: str
    name: str
    lang: str
    is_staff: bool


USER_RECORD_COLUMNS = tuple(User.__table__.c[name] for name in UserRecord.__slots__)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)  # null: never
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class OAuthClient(Base):
    __tablename__ = "oauth_clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)  # its tokens are revoked with it


class OAuthToken(Base):
    """One access/refresh pair. Refreshing revokes the row and issues a new one (rotation)."""

    __tablename__ = "oauth_tokens"
    __table_args__ = (Index("ix_oauth_tokens_family", "family"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("oauth_clients.id", ondelete="CASCADE"))
    access_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_hash: Mapped[str] = mapped_column(String(64), unique=True)
    access_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refresh_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The id of the first token of its refresh chain (null on that first token itself): the reuse of a
    # rotated refresh token revokes the whole chain with one UPDATE (accounts.refresh_grant).
    family: Mapped[int | None] = mapped_column(Integer, default=None)


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    slug: Mapped[str] = mapped_column(String(255))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    lang: Mapped[str] = mapped_column(String(10), default="en")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reward(Base):
    __tablename__ = "rewards"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    # Ulule i18n objects: {"en": "...", "fr": "..."}.
    title: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    description: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    price: Mapped[int] = mapped_column(BigInteger, default=0)


class Address(Base):
    __tablename__ = "addresses"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    first_name: Mapped[str] = mapped_column(String(150), default="")
    last_name: Mapped[str] = mapped_column(String(150), default="")
    entity_name: Mapped[str] = mapped_column(String(255), default="")
    type: Mapped[str] = mapped_column(String(20), default="personal")
    address_1: Mapped[str] = mapped_column(String(255), default="")
    address_2: Mapped[str] = mapped_column(String(255), default="")
    postal_code: Mapped[str] = mapped_column(String(32), default="")
    city: Mapped[str] = mapped_column(String(150), default="")
    state: Mapped[str] = mapped_column(String(150), default="")
    country: Mapped[str] = mapped_column(String(2), default="")
    phone_number: Mapped[str] = mapped_column(String(40), default="")


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_project_created", "project_id", "created_at", "id"),
                      Index("ix_orders_project_change", "project_id", "change_seq"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(32))
    payment_method: Mapped[str] = mapped_column(String(32), default="")
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    subtotal: Mapped[int] = mapped_column(BigInteger, default=0)
    shipping_total: Mapped[int] = mapped_column(BigInteger, default=0)
    note: Mapped[str] = mapped_column(Text, default="")
    tracking_source: Mapped[str] = mapped_column(String(255), default="")
    tracking_medium: Mapped[str] = mapped_column(String(255), default="")
    shipping_address_id: Mapped[int | None] = mapped_column(ForeignKey("addresses.id"), default=None)
    billing_address_id: Mapped[int | None] = mapped_column(ForeignKey("addresses.id"), default=None)
    # The number of the order import that last wrote the order, its items or addresses (sync.changes);
    # 0: written before numbers existed. A server default: the import's bulk insert names it itself.
    change_seq: Mapped[int] = mapped_column(BigInteger, server_default="0")


class OrderChanges(Base):
    """A project's last order change number given out (sync.changes): an import takes the next one with
    this row locked until it commits, so the numbers commit in the order they are given."""

    __tablename__ = "order_changes"

    project_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                            ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    last_change: Mapped[int] = mapped_column(BigInteger)


class OrderItem(Base):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    reward_id: Mapped[int] = mapped_column(ForeignKey("rewards.id"))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    unit_price: Mapped[int] = mapped_column(BigInteger, default=0)
    line_total: Mapped[int] = mapped_column(BigInteger, default=0)
    line_shipping_total: Mapped[int] = mapped_column(BigInteger, default=0)


class Export(Base):
    """The source of truth for one export (SPEC §4); only `exports.lifecycle` changes its status."""

    __tablename__ = "exports"
    __table_args__ = (
        # Unique per project so the `since` cursor is exact: see lifecycle.request.
        UniqueConstraint("project_id", "created_at", name="uq_exports_project_created"),
        Index("ix_exports_status", "status"),
        Index("ix_exports_email_status", "email_status"),  # the sweep's email look-ups
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    type: Mapped[str] = mapped_column(String(32))
    format: Mapped[str] = mapped_column(String(8))
    columns: Mapped[dict[str, str] | None] = mapped_column(JSON, default=None)
    # The writer's and the type's options, {"format": {...}, "type": {...}} (exports.options); null: defaults.
    options: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    status: Mapped[str] = mapped_column(String(16), default=ExportStatus.WAITING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Claim and lease: every worker write is fenced on (status, attempt).
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    worker: Mapped[str | None] = mapped_column(String(128), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    rows_done: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_estimated: Mapped[int | None] = mapped_column(BigInteger, default=None)  # null until counted
    # The published file.
    storage_key: Mapped[str | None] = mapped_column(String(512), default=None)
    file_name: Mapped[str | None] = mapped_column(String(255), default=None)
    size: Mapped[int | None] = mapped_column(BigInteger, default=None)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)  # hex; null for files made before it
    row_count: Mapped[int | None] = mapped_column(BigInteger, default=None)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Email: none -> pending -> sending -> sent | failed | unknown.
    email_status: Mapped[str] = mapped_column(String(16), default=EmailStatus.NONE)
    email_attempts: Mapped[int] = mapped_column(Integer, default=0)
    email_error: Mapped[str | None] = mapped_column(Text, default=None)
    email_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The failed or canceled export this one retries (POST /v1/exports/{id}/retry); its `retried_by` is read
    # from this column (exports.resource), so one column names both ways.
    retry_of: Mapped[int | None] = mapped_column(ForeignKey("exports.id"), default=None, index=True)
    # The last order change number the file includes (sync.changes), set when it is made: an export
    # with `changes_since` this one includes the orders changed after it. Null: not made yet, or before 16.5.
    changes_upto: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # The project's time zone, named by the default date headers the resource shows (exports.resource);
    # read only when asked for. The hot reads select it the same way (resource.SHOWN_COLUMNS).
    project_timezone: Mapped[str] = column_property(
        select(Project.timezone).where(Project.id == project_id).correlate_except(Project).scalar_subquery(),
        deferred=True)
    # The file's control totals (exports.summary), counted while it was written. Null: not made yet, or before 16.2.
    summary: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=None)


class ExportPreset(Base):
    """Named export settings of a project (issue 15): the settings part of an export request body, as the
    request takes it, so fields the request gains later are kept with no change here (exports.presets)."""

    __tablename__ = "export_presets"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_export_presets_project_name"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExportSchedule(Base):
    """A recurring export (issue 17): export request `settings` (which may name a preset, resolved at each
    run as any request) made at each slot of a rule, read in the project's time zone (schedules.timing).
    `next_run_at` is the slot the worker fires next; null while paused (resuming counts from then on)."""

    __tablename__ = "export_schedules"
    __table_args__ = (Index("ix_export_schedules_due", "paused", "next_run_at"),)  # the worker's due look-up

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(String(16))  # daily, weekly, monthly, cron
    local_time: Mapped[str | None] = mapped_column(String(5), default=None)  # "HH:MM"; null for cron
    weekday: Mapped[int | None] = mapped_column(Integer, default=None)  # weekly: 0 = Monday
    day: Mapped[int | None] = mapped_column(Integer, default=None)  # monthly: 1-31, the last day if fewer
    cron: Mapped[str | None] = mapped_column(String(100), default=None)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    changes_only: Mapped[bool] = mapped_column(Boolean, default=False)  # changes since the previous run's export
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExportScheduleRun(Base):
    """One slot of a schedule, run: the unique (schedule, slot) pair is the claim, so a slot makes one export
    however many workers see it due and however often they restart (the insert that loses the race fails)."""

    __tablename__ = "export_schedule_runs"
    __table_args__ = (UniqueConstraint("schedule_id", "slot", name="uq_export_schedule_runs_schedule_slot"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("export_schedules.id", ondelete="CASCADE"))
    slot: Mapped[datetime] = mapped_column(UTCDateTime)
    export_id: Mapped[int | None] = mapped_column(ForeignKey("exports.id", ondelete="SET NULL"), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)  # why no export was made (its settings refused)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# An Export, or a Core row of the exports table (the API's hot reads): the same attribute names.
ExportFields = Any


class ExportEvent(Base):
    """Append-only log beside the export row: answers "what happened, and why did it fail?"."""

    __tablename__ = "export_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    export_id: Mapped[int] = mapped_column(ForeignKey("exports.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")


class IdempotencyKey(Base):
    """An `Idempotency-Key` of `POST /v1/projects/{id}/exports` and the export it made (exports.idempotency).
    The unique (user_id, key) decides a race between two requests with one key: the loser's insert fails."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),
                      Index("ix_idempotency_keys_created_at", "created_at"))  # the retention sweep's

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of the project id and the canonical body
    export_id: Mapped[int] = mapped_column(ForeignKey("exports.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebSession(Base):
    """A signed-in browser of the web page (web/sessions.py). Only the token's hash is stored, as for API
    keys; a row ends by expiry, idleness, sign-out (`revoked_at`), the user's deactivation or a change of
    their password (`password_fingerprint` no longer matches)."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    password_fingerprint: Mapped[str] = mapped_column(String(64))
    lang: Mapped[str] = mapped_column(String(10))  # the page's language, switched on the page
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class WebhookEndpoint(Base):
    """A URL an owner wants told when their exports finish (issue 17; crowdexports.webhooks). `project_id`
    null: every project of theirs. The secret signs deliveries (Standard Webhooks), so it is kept as is, not
    hashed: a hash cannot sign. `disabled_at` set: no more deliveries (3 days failing, or its owner)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), default=None,
                                                   index=True)
    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The first failed attempt since the last success: 3 days of failures from it disable the endpoint.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    disabled_reason: Mapped[str | None] = mapped_column(Text, default=None)


class WebhookDelivery(Base):
    """One event for one endpoint, until it is delivered or given up. Unique (endpoint, event id): an event
    queued again (a worker killed mid-delivery, a sweep) is the same row, sent again with the same id."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
                      Index("ix_webhook_deliveries_due", "status", "next_attempt_at"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    export_id: Mapped[int] = mapped_column(ForeignKey("exports.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(64))  # webhooks.rules.event_id: the same for every attempt
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending -> succeeded | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)  # null: finished
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class WebhookAttempt(Base):
    """One try of a delivery, as its endpoint's owner sees it listed."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (UniqueConstraint("delivery_id", "number", name="uq_webhook_attempts_delivery_number"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1 for the first
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)  # null: no answer
    error: Mapped[str | None] = mapped_column(Text, default=None)  # timeout, connection refused, address refused
    outcome: Mapped[str] = mapped_column(String(16))  # webhooks.rules.Outcome

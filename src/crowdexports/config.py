"""Settings: the only reader of the environment (CROWDEXPORTS_* variables and a `.env` file).

Read once at start-up and passed down; nothing deeper imports a global settings object.
"""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from crowdexports.filemodes import private_data_dir, write_private_file
from crowdexports.ratelimit import Limit
from crowdexports.webhooks.rules import RETRY_DELAYS

ENV_PREFIX = "CROWDEXPORTS_"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
UNSAFE_SECRETS = {"changethis", "changeme", "secret", "dev"}


def _limit(value: Any) -> Any:
    return Limit.parse(value) if isinstance(value, str) else value


# "N/second", "N/minute", "N/hour", "N/day", "N/<S>s" or "off" (ratelimit.Limit.parse).
RateLimit = Annotated[Limit | None, BeforeValidator(_limit)]


def local_url(host: str, port: int) -> str:
    """The URL of a server listening on host:port, as a client on this machine reaches it."""
    if host in ("", "0.0.0.0", "::"):  # every address: loopback is one of them
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore")

    data_dir: Path = Path("./var")
    database_url: str | None = None
    broker_url: str | None = None
    storage_url: str | None = None
    s3_endpoint_url: str | None = None  # for S3-compatible servers; credentials come from AWS_* variables
    s3_region: str = "us-east-1"
    queue_name: str = "crowdexports"  # Huey's queue name: processes sharing a broker and a name share work
    smtp_url: str | None = None
    mail_from: str = "crowdexports <exports@localhost>"
    public_url: str = DEFAULT_PUBLIC_URL  # `serve` derives it from its host and port unless it is set
    secret_key: str | None = None
    file_ttl_days: int = Field(default=7, ge=1, le=3650)
    max_attachment_bytes: int = Field(default=10 * 1024 * 1024, ge=0)

    # Worker and reliability knobs (SPEC §4).
    lease_seconds: float = Field(default=30.0, gt=0)
    heartbeat_seconds: float = Field(default=1.0, gt=0)
    max_attempts: int = Field(default=3, ge=1)
    sweep_seconds: float = Field(default=5.0, gt=0)
    redispatch_after_seconds: float = Field(default=30.0, gt=0)
    email_retries: int = Field(default=5, ge=0)
    email_backoff_seconds: float = Field(default=2.0, ge=0)

    log_format: str = Field(default="json", pattern="^(json|text)$")
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR|debug|info|warning|error)$")

    # API knobs.
    access_token_seconds: int = 36000
    refresh_token_days: int = 30
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # Order imports (POST /v1/projects/{id}/orders/import) only: a body is many orders, held in memory.
    max_import_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)

    # Serving (`serve`; docs/capacity.md).
    api_workers: int | None = Field(default=None, ge=1, le=64)  # API processes; None: one per core
    # Requests one API process works on at once; more wait their turn holding nothing (no connection).
    api_concurrency: int = Field(default=16, ge=1, le=1000)
    max_connections: int = Field(default=1000, ge=1)  # open connections per API process; then 503
    # Open connections of one client address per API process; more are closed at once (docs/decisions.md "Limits").
    max_connections_per_address: int = Field(default=100, ge=1)
    max_header_bytes: int = Field(default=16 * 1024, ge=1024)  # a request's line and headers; more is 431
    header_timeout_seconds: float = Field(default=10.0, gt=0)  # request line and headers must arrive by then
    body_timeout_seconds: float = Field(default=60.0, gt=0)  # the whole body must arrive by then
    # argon2 checks one API process runs at once (64 MiB each), and how many more may wait; beyond, 429.
    password_checks: int = Field(default=2, ge=1, le=64)
    password_checks_waiting: int = Field(default=6, ge=0, le=1000)
    # Exports of one project waiting or processing at once; one more is 429 (docs/decisions.md "Limits").
    max_active_exports_per_project: int = Field(default=5, ge=1, le=10_000)
    # Exports made by schedules waiting or processing at once, the fleet together: a sweep fires no more,
    # so an export asked by hand waits behind at most these (docs/decisions.md "Export schedules").
    max_scheduled_exports_active: int = Field(default=4, ge=1, le=10_000)

    # Webhooks (issue 17; docs/decisions.md "Webhooks"). True lets endpoints call loopback, private and
    # link-local addresses: tests and intranet receivers only (webhooks/addresses.py).
    webhooks_allow_private_addresses: bool = False
    max_webhook_endpoints_per_owner: int = Field(default=20, ge=1, le=10_000)  # one more is 409
    # Deliveries one worker process sends at once, on threads of their own (webhooks/sender.py): a flood of
    # hanging receivers takes these slots, never an export's or an email's thread.
    webhook_concurrency: int = Field(default=4, ge=1, le=64)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=10.0)  # each step of one POST
    # Seconds replacing the first delays of the retry schedule (webhooks/rules.py), e.g. [1, 2]: tests.
    webhook_first_retry_seconds: list[Annotated[float, Field(ge=0)]] = Field(default=[], max_length=len(RETRY_DELAYS))

    # Rate limits (429 with Retry-After; docs/decisions.md "Limits"), counted across every API process.
    rate_limit_url: str | None = None  # default: Redis if the broker is Redis, else a SQLite file in the data dir
    rate_limit_api: RateLimit = Field(default="1200/minute", validate_default=True)  # per credential
    # Failed password checks (HTTP Basic, password grant): per username from one address, per username
    # from anywhere, per address; once one is spent, that door gets 429 before any hash.
    rate_limit_password: RateLimit = Field(default="10/minute", validate_default=True)
    rate_limit_password_user: RateLimit = Field(default="100/minute", validate_default=True)
    rate_limit_password_address: RateLimit = Field(default="30/minute", validate_default=True)
    rate_limit_token_client: RateLimit = Field(default="300/minute", validate_default=True)  # per OAuth client
    rate_limit_token_address: RateLimit = Field(default="60/minute", validate_default=True)  # per IP address

    @field_validator("secret_key")
    @classmethod
    def _refuse_unsafe_secret(cls, value: str | None) -> str | None:
        if value is not None and (value.lower() in UNSAFE_SECRETS or len(value) < 16):
            raise ValueError("must be at least 16 characters and not a placeholder")
        return value

    def serving_on(self, host: str, port: int) -> Settings:
        """The settings of a server listening on host:port: links (download URLs, emails) name that port,
        unless CROWDEXPORTS_PUBLIC_URL says where the service is reached."""
        if "public_url" in self.model_fields_set:
            return self
        return self.model_copy(update={"public_url": local_url(host, port)})

    @cached_property
    def resolved_data_dir(self) -> Path:
        return private_data_dir(self.data_dir.expanduser().resolve())

    @cached_property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.resolved_data_dir / 'crowdexports.db'}"

    @cached_property
    def resolved_broker_url(self) -> str:
        return self.broker_url or f"sqlite:///{self.resolved_data_dir / 'queue.db'}"

    @cached_property
    def resolved_rate_limit_url(self) -> str:
        """Where rate limit counts are shared: every API process of the service must see the same."""
        if self.rate_limit_url:
            return self.rate_limit_url
        if self.resolved_broker_url.startswith(("redis://", "rediss://")):
            return self.resolved_broker_url
        return f"sqlite:///{self.resolved_data_dir / 'ratelimits.db'}"

    @cached_property
    def resolved_storage_url(self) -> str:
        return self.storage_url or f"file://{self.resolved_data_dir / 'files'}"

    @cached_property
    def outbox_dir(self) -> Path:
        return self.resolved_data_dir / "outbox"

    @cached_property
    def resolved_secret_key(self) -> str:
        """The configured key, or one generated once and kept in the data dir, so the default is safe."""
        if self.secret_key:
            return self.secret_key
        key_file = self.resolved_data_dir / "secret_key"
        if not key_file.exists():
            tmp = key_file.with_suffix(".tmp")
            write_private_file(tmp, secrets.token_urlsafe(48).encode())
            tmp.replace(key_file)
        return key_file.read_text().strip()

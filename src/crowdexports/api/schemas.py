"""Pydantic models of what the API answers: its OpenAPI documentation and its response contract.

Strict and closed (`extra="forbid"`): a field the code adds without documenting it here fails loudly.
Request bodies are checked by `exports.requests`, `sync.records` and `auth.accounts` (one place for API
and CLI) by the rules of crowdexports.rules; `ExportCreate`, `ApiKeyCreate` and the `*Put` models
document the bodies, their defaults and constraints (maxLength, pattern, enum, bounds) made from the
same rules by `_documented` (tests/api/test_body_rules.py holds both sides to them).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticUndefined

from crowdexports.exports.statuses import ExportStatus
from crowdexports.exports.types import order_filters
from crowdexports.rules import api_keys, exports, presets, projects, rewards, schedules, users, webhooks
from crowdexports.rules.kinds import LANG_PATTERN, MAX_ID, Choices, Flag, I18n, Integer, Rule, Text
from crowdexports.rules.orders import STATUSES
from crowdexports.schedules.runs import MAX_LISTED as MAX_RUNS_LISTED


def _documented(rule: Rule, *, nullable: bool = False, description: str | None = None,
                examples: list[Any] | None = None) -> Any:
    """The Pydantic field of a body's field, documenting what `rule` checks: required, or its default
    (None when `nullable`), and its maxLength and pattern, or its enum, or its bounds."""
    options: dict[str, Any] = {"description": description, "examples": examples}
    extra: dict[str, Any] = {}
    default: Any = None
    if isinstance(rule, Text):
        if rule.choices:
            extra["enum"] = [*rule.choices, *([None] if nullable else [])]
        else:
            options.update(max_length=rule.max_length, pattern=rule.pattern)
        default = None if nullable else rule.default
    elif isinstance(rule, Integer):
        options.update(ge=rule.low, le=rule.high)
    elif isinstance(rule, Flag):
        default = rule.default
    elif isinstance(rule, Choices):
        options.update(min_length=1)
        extra["items"] = {"type": "string", "enum": list(rule.choices)}
    elif isinstance(rule, I18n):
        options.update(max_length=rule.max_languages, default_factory=dict)
        extra.update(propertyNames={"pattern": LANG_PATTERN},
                     additionalProperties={"type": "string", "maxLength": rule.max_text})
    if rule.required:
        default = PydanticUndefined
    if "default_factory" not in options:
        options["default"] = default
    return Field(**options, json_schema_extra=extra or None)


def _list(items: dict[str, Any], most: int) -> dict[str, Any]:
    return {"type": "array", "items": items, "minItems": 1, "maxItems": most}


_LOCAL_MOMENT = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2})?)?$",
                 "examples": ["2026-11-01", "2026-11-01T09:30"]}
# What exports.types.order_filters checks, inline (no $ref: the request schema is pasted whole).
FILTERS_SCHEMA: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {
    "status": _list({"type": "string", "enum": list(STATUSES)}, len(STATUSES)),
    "reward_ids": _list({"type": "integer", "minimum": 1, "maximum": MAX_ID}, order_filters.MAX_REWARD_IDS),
    "created": {"type": "object", "additionalProperties": False, "minProperties": 1, "description":
                "`from` inclusive, `to` exclusive (after `from`): a date (its midnight) or a date-time without "
                "offset, in the project's time zone.",
                "properties": dict.fromkeys(order_filters.RANGE_ENDS, _LOCAL_MOMENT)},
    "country": _list({"type": "string", "pattern": "^[A-Za-z]{2}$"}, order_filters.MAX_COUNTRIES),
    "has_shipping_address": {"type": "boolean"},
}}
FILTERS_DESCRIPTION = (
    "Which rows to export, every filter applying (absent or null: every row). `status`: orders with one of "
    "these statuses; `reward_ids`: the items of these rewards (an order without them is left out); `created`: "
    "orders created in this range; `country`: orders shipped to one of these ISO 3166-1 alpha-2 codes; "
    "`has_shipping_address`: orders with (true) or without (false) a shipping address.")
FiltersIn = Annotated[dict[str, Any] | None, WithJsonSchema({"anyOf": [FILTERS_SCHEMA, {"type": "null"}]})]
FiltersOut = Annotated[dict[str, Any], WithJsonSchema(FILTERS_SCHEMA)]
CHANGES_SINCE_DESCRIPTION = (
    "Orders exports: only the orders created or changed since that export of the project was made (its id), or "
    "since the project's latest succeeded orders export (`last`; every order if there is none). Absent or null: "
    "every order. An id of no succeeded orders export of this project is refused.")
ChangesSinceIn = Annotated[str | int | None, WithJsonSchema({"anyOf": [
    {"type": "string", "enum": [exports.CHANGES_SINCE.keyword]},
    {"type": "integer", "minimum": 1, "maximum": MAX_ID}, {"type": "null"}]})]

LAYOUT_DESCRIPTION = (
    "Orders exports: how an order's items become rows. `items` (the default, also when null): one row per item, "
    "the order's total, subtotal and shipping total on its first row only, so a column's sum is right; "
    "`orders`: one row per order, reward ids and texts joined, quantities and reward totals summed "
    "(`order.reward.price`, a unit price, is refused); `items_repeated`: one row per item, the order's amounts "
    "on every row, for pivot tables (summing those columns counts an order once per item).")

# An export request's header text.
HeaderText = Annotated[str, Field(max_length=exports.COLUMNS.max_length)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ClientError(Strict):
    classification: str = Field(examples=["ValueError"])
    fieldNames: list[str] = Field(examples=[["format"]])  # camelCase: the Ulule API's wire name
    message: str


class ErrorBody(Strict):
    errors: list[ClientError]


class OAuthErrorBody(ErrorBody):
    """The token endpoint's errors: the envelope with RFC 6749 §5.2's fields (api/errors.py)."""

    error: Literal["invalid_request", "invalid_client", "invalid_grant", "unsupported_grant_type", "slow_down",
                   "temporarily_unavailable"]
    error_description: str


class ExportCreate(Strict):
    format: str = _documented(exports.FORMAT, description="File format.")
    type: str = _documented(exports.TYPE, description="Export type.")
    columns: dict[str, HeaderText] | None = _documented(
        exports.COLUMNS, description="Column id to header text, in file order; all columns when absent.",
        examples=[{"order.id": "Order", "user.email": "Email"}],
    )
    # A plain enum, not a $ref: this schema is pasted into the OpenAPI document whole (routes/exports.py).
    csv_dialect: str | None = _documented(
        exports.CSV_DIALECT, nullable=True,
        description="csv only (an error with xlsx): `rfc4180` (comma, decimal point; the default, also when "
        "null) or `excel_eu` (semicolon, decimal comma, for Excel in European locales).",
    )
    filters: FiltersIn = Field(default=None, description=FILTERS_DESCRIPTION, examples=[
        {"status": ["payment-completed"], "created": {"from": "2026-11-01", "to": "2026-12-01"}, "country": ["FR"]}])
    changes_since: ChangesSinceIn = Field(default=None, description=CHANGES_SINCE_DESCRIPTION,
                                          examples=["last", 42])
    layout: str | None = _documented(exports.LAYOUT, nullable=True, description=LAYOUT_DESCRIPTION)
    preset: int | None = _documented(
        exports.PRESET, nullable=True, description="An export preset of the project: its settings, each "
        "overridden by this body's field of the same name (null included, which asks for the default).",
    )


def _settings_schema() -> dict[str, Any]:
    """A preset's settings: an export request body's fields but `preset`, inline as ExportCreate's is."""
    schema = ExportCreate.model_json_schema()
    del schema["properties"][exports.PRESET.name]
    return {**schema, "title": "Settings"}


class PresetBody(Strict):
    """`POST /v1/projects/{id}/export-presets` and `PUT /v1/export-presets/{id}` (the whole preset)."""

    name: str = _documented(presets.NAME, description="Unique in the project; not blank.", examples=["Monthly"])
    settings: Annotated[dict[str, Any], WithJsonSchema(_settings_schema())] = Field(
        description="The fields of an export request (POST /v1/projects/{id}/exports) but `preset`, checked as "
        "one is.", examples=[{"type": "orders", "format": "csv", "columns": {"order.id": "Order"}}])


class PresetOut(Strict):
    id: int
    project_id: int
    name: str
    settings: dict[str, Any]
    created_at: str = Field(description="RFC 3339, UTC.")
    updated_at: str = Field(description="RFC 3339, UTC: the last PUT, or the creation.")


class PresetList(Strict):
    export_presets: list[PresetOut] = Field(description=f"By name; at most {presets.MAX_PER_PROJECT}.")



class WebhookEndpointBody(Strict):
    """`POST /v1/webhook-endpoints`."""

    url: str = _documented(webhooks.URL, description="Called with POST, signed as Standard Webhooks says; "
                           "redirects are not followed. Loopback, private and link-local addresses are refused.",
                           examples=["https://books.example/hooks/crowdexports"])
    events: list[str] = _documented(webhooks.EVENTS_FIELD, description="The events the endpoint is told of; "
                                    "repeats are dropped.", examples=[["export.succeeded"]])
    project_id: int | None = _documented(webhooks.PROJECT, nullable=True,
                                         description="One project of yours; absent or null: all of yours, later "
                                         "ones too.")


class WebhookEndpointOut(Strict):
    id: int
    url: str
    events: list[str]
    project_id: int | None = Field(description="Null: every project of the owner's.")
    enabled: bool = Field(description="False once disabled: no event is sent to it any more.")
    disabled_at: str | None = Field(description="RFC 3339, UTC.")
    disabled_reason: str | None
    created_at: str = Field(description="RFC 3339, UTC.")


class WebhookEndpointCreated(WebhookEndpointOut):
    secret: str = Field(description="The signing secret (`whsec_...`), shown this once: keep it to verify the "
                        "`webhook-signature` header.")


class WebhookEndpointList(Strict):
    webhook_endpoints: list[WebhookEndpointOut] = Field(description="Oldest first.")


class WebhookAttemptOut(Strict):
    id: int
    delivery_id: int
    export_id: int
    event: str
    event_id: str = Field(description="The `webhook-id` header: the same on every attempt of the event.")
    number: int = Field(description="1 for the first attempt of the delivery.")
    started_at: str = Field(description="RFC 3339, UTC.")
    duration_ms: int
    status_code: int | None = Field(description="Null: no answer (timeout, connection error, address refused).")
    error: str | None
    outcome: Literal["delivered", "retry", "refused"]


class WebhookAttemptList(Strict):
    attempts: list[WebhookAttemptOut] = Field(description="The latest, newest first; at most 100.")


def _schedule_settings_schema() -> dict[str, Any]:
    """A schedule's settings: an export request body's fields, `preset` too, inline as ExportCreate's is."""
    return {**ExportCreate.model_json_schema(), "title": "ScheduleSettings"}


class ScheduleBody(Strict):
    """`POST /v1/projects/{id}/export-schedules` and `PUT /v1/export-schedules/{id}` (the whole schedule).
    Each rule takes its own fields and refuses the others': daily `at`; weekly `at`, `weekday`; monthly
    `at`, `day`; cron `cron`."""

    rule: str = _documented(schedules.RULE, description="How often, in the project's time zone.")
    at: str | None = _documented(schedules.AT, nullable=True, description="Local time, HH:MM (not for cron). A "
                                 "time the clock skips runs shifted by the gap; one it shows twice runs once, "
                                 "the first time.", examples=["02:30"])
    weekday: str | None = _documented(schedules.WEEKDAY, nullable=True, description="weekly only.")
    day: int | None = _documented(schedules.DAY, nullable=True,
                                  description="monthly only; in a shorter month, its last day.")
    cron: str | None = _documented(schedules.CRON, nullable=True, description="cron only: five fields, local "
                                   "time, the minute one number.", examples=["0 6 * * 1"])
    settings: Annotated[dict[str, Any], WithJsonSchema(_schedule_settings_schema())] = Field(
        description="The fields of an export request (POST /v1/projects/{id}/exports), checked as one is; "
        "`preset` names a preset, resolved at each run.", examples=[{"type": "orders", "format": "csv"}])
    changes_only: bool = _documented(schedules.CHANGES_ONLY, description="Each run exports the orders changed "
                                     "since the previous run's export (the first run: all).")


class ScheduleOut(Strict):
    id: int
    project_id: int
    owner_id: int
    rule: str
    at: str | None
    weekday: str | None
    day: int | None
    cron: str | None
    settings: dict[str, Any]
    changes_only: bool
    paused: bool
    next_run: str | None = Field(description="RFC 3339, UTC: the next slot; null while paused.")
    timezone: str = Field(description="The project's time zone, in which the rule is read.")
    created_at: str = Field(description="RFC 3339, UTC.")
    updated_at: str = Field(description="RFC 3339, UTC: the last change, pause or resume.")


class ScheduleList(Strict):
    export_schedules: list[ScheduleOut] = Field(
        description=f"In the order they were made; an owner has at most {schedules.MAX_PER_OWNER}, all projects.")


class Recipient(Strict):
    id: int
    username: str
    name: str
    first_name: str
    last_name: str
    lang: str
    email: str | None = Field(default=None, description="Only when the caller is this user.")


class Progress(Strict):
    rows_done: int
    rows_estimated: int | None = Field(description="Rows the file will have; null until the worker has counted.")


def _export_status(value: str) -> str:
    return ExportStatus(value).value  # ValueError unless one of them


# A str checked against ExportStatus, documented inline as it always was (an enum type would add a component).
StatusField = Annotated[str, AfterValidator(_export_status), Field(title="Status"),
                        WithJsonSchema({"type": "string", "enum": [status.value for status in ExportStatus]})]


class ScheduleRunOut(Strict):
    id: int
    schedule_id: int
    slot: str = Field(description="RFC 3339, UTC: the slot run (the first of those missed, when several were).")
    export_id: int | None = Field(description="The export the slot made; null if none was (see `error`) or it "
                                  "was deleted since.")
    export_status: StatusField | None = Field(
        description="That export's status now.")
    error: str | None = Field(description="Why the slot made no export: its settings were refused then (a "
                              "deleted preset, a column gone); the schedule went on to its next slot.")
    created_at: str = Field(description="RFC 3339, UTC: when a worker ran the slot.")


class ScheduleRunList(Strict):
    runs: list[ScheduleRunOut] = Field(description=f"Newest slot first; at most {MAX_RUNS_LISTED}. A slot its "
                                       "project's cap of active exports holds back has no run yet: the schedule's "
                                       "`next_run` stays in the past until it runs.")


class StatusTotals(Strict):
    status: str = Field(description="The order status, as the file's status column writes it.")
    orders: int = Field(description="Orders of this status in the file.")
    items: int = Field(description="Order item lines of these orders in the file (an order without items: 0).")
    total: str = Field(description="Sum of these orders' totals, a decimal string with the currency's decimals.",
                       examples=["12840.50"])


class CurrencyTotals(Strict):
    currency: str = Field(description="ISO 4217 code.", examples=["EUR"])
    orders: int = Field(description="Distinct orders in the file.")
    items: int = Field(description="Order item lines in the file.")
    total: str = Field(description="Sum of the order totals, each order counted once, with the currency's "
                       "decimals.", examples=["46291.80"])
    by_status: list[StatusTotals] = Field(description="The same per order status, sorted by status.")


class ExportOut(Strict):
    id: int
    project_id: int
    type: str
    format: str
    csv_dialect: str | None = Field(description="The csv dialect (`rfc4180`, `excel_eu`); null for xlsx.")
    status: StatusField
    created_at: str = Field(description="RFC 3339, UTC, with fractional seconds.")
    url: str | None = Field(description="Signed download link while the file is available.")
    user: Recipient
    columns: dict[str, str]
    filters: FiltersOut = Field(description="The request's filters, those set only; {}: every row.")
    layout: str = Field(description="The row layout (`items`, `orders`, `items_repeated`); `items_repeated` for "
                        "an export made before layouts existed, as its file is.",
                        json_schema_extra={"enum": list(exports.LAYOUT.choices or ())})
    row_count: int | None
    size: int | None = Field(description="File size in bytes.")
    sha256: str | None = Field(description="SHA-256 of the file, 64 lower-case hex digits, computed while it was "
                               "written: compare with `sha256sum` of the downloaded file. Null until the "
                               "export succeeds (and for files made before checksums).")
    summary: list[CurrencyTotals] | None = Field(
        description="The file's control totals, one object per currency, counted from the rows written: "
                    "check a copy against them. Null until the export succeeds (and for files made before them).")
    started_at: str | None
    finished_at: str | None
    expires_at: str | None = Field(description="When the file and its link expire.")
    error: str | None = Field(description="Why a failed export failed.")
    progress: Progress | None = Field(description="While processing.")
    email_status: str
    changes_since: int | None = Field(description="The export whose changes since this one holds (null: every "
                                      "order; also for `last` when there was no earlier export).")
    retry_of: int | None = Field(description="The failed or canceled export this one retries "
                                 "(`POST /v1/exports/{id}/retry`).")
    retried_by: int | None = Field(description="The latest export retrying this one.")


class PageMeta(Strict):
    limit: int
    next: str | None = Field(description="Query string of the next page, or null on the last one.",
                             examples=["?limit=20&since=1700000000.123456"])


class ExportPage(Strict):
    exports: list[ExportOut]
    meta: PageMeta


class TokenOut(Strict):
    access_token: str
    expires_in: int
    refresh_token: str
    scope: str
    token_type: Literal["Bearer"]


class Health(Strict):
    status: Literal["ok"]
    database: Literal["ok"]
    queue: Literal["ok"]
    storage: Literal["ok"]


class HealthDown(ErrorBody):
    """/healthz's 503: the error envelope, each part's state, and `fieldNames` naming those down."""

    status: Literal["unavailable"]
    database: Literal["ok", "unavailable"]
    queue: Literal["ok", "unavailable"]
    storage: Literal["ok", "unavailable"]


I18N_EXAMPLE = {"en": "Early bird", "fr": "Lève-tôt"}


class UserPut(Strict):
    """`PUT /v1/users/{id}`: the whole user (absent optional fields take their defaults)."""

    username: str = _documented(users.USERNAME, description="Unique; printable.")
    email: str = _documented(users.EMAIL)
    first_name: str = _documented(users.FIRST_NAME)
    last_name: str = _documented(users.LAST_NAME)
    name: str = _documented(users.NAME, description="Display name; `first_name last_name` when empty.")
    lang: str = _documented(users.LANG, examples=["fr"])
    is_staff: bool = _documented(users.IS_STAFF)
    is_active: bool = _documented(users.IS_ACTIVE, description="False refuses every credential of the user at "
                                  "once; true again gives back those neither revoked nor expired.")
    password: str | None = _documented(users.PASSWORD, nullable=True, description="Write-only, for the password "
                                       "grant. Absent or null keeps the stored one; it is stored hashed.")


class UserOut(Strict):
    id: int
    username: str
    email: str
    first_name: str
    last_name: str
    name: str
    lang: str
    is_staff: bool
    is_active: bool
    has_password: bool = Field(description="Whether the password grant and HTTP Basic work for this user.")


class ProjectPut(Strict):
    """`PUT /v1/projects/{id}`: the whole project."""

    owner_id: int = _documented(projects.OWNER_ID, description="A user synced before.")
    name: str = _documented(projects.NAME)
    slug: str = _documented(projects.SLUG, description="Made from the name when empty.")
    currency: str = _documented(projects.CURRENCY, description="ISO 4217; cannot change once the project has "
                                "orders.", examples=["EUR"])
    timezone: str = _documented(projects.TIMEZONE, description="IANA time zone of the export's dates.")
    lang: str = _documented(projects.LANG, description="The export's fallback language for reward texts.")


class ProjectOut(Strict):
    id: int
    owner_id: int
    name: str
    slug: str
    currency: str
    timezone: str
    lang: str


class RewardPut(Strict):
    """`PUT /v1/rewards/{id}`: the whole reward."""

    project_id: int = _documented(rewards.PROJECT_ID, description="A project synced before.")
    title: dict[str, str] = _documented(rewards.TITLE, examples=[I18N_EXAMPLE],
                                        description="Texts by language; HTML is stripped in the export.")
    description: dict[str, str] = _documented(rewards.DESCRIPTION, description="Texts by language, HTML allowed.")
    price: Decimal | str = _documented(rewards.PRICE, description="In the project's currency's major unit: a JSON "
                                       "number or a decimal string, at most the currency's decimals.",
                                       examples=["12.50"])


class RewardOut(Strict):
    id: int
    project_id: int
    title: dict[str, str]
    description: dict[str, str]
    price: str = Field(description="Exact, with the currency's decimals.", examples=["12.50"])
    currency: str = Field(description="The project's currency.")


class ApiKeyCreate(Strict):
    """`POST /v1/users/{id}/apikeys`: optional, the body may be left out."""

    expires_in_days: int | None = _documented(api_keys.EXPIRES_IN_DAYS, description="The key stops working after "
                                              "this many days; never when null.")


class ApiKeyInfo(Strict):
    id: int
    user_id: int
    created_at: str = Field(description="RFC 3339, UTC.")
    expires_at: str | None = Field(description="When the key stops working; null: never.")
    revoked_at: str | None = Field(description="When the key was revoked; null while it is not.")


class ApiKeyOut(ApiKeyInfo):
    key: str = Field(description="Shown this once; stored only as a hash.")


class ApiKeyList(Strict):
    api_keys: list[ApiKeyInfo] = Field(description="Oldest first, revoked and expired ones included; no secrets.")


class TokensRevoked(Strict):
    revoked: int = Field(description="Token pairs that were live and are now revoked.")


class Counts(Strict):
    created: int = Field(description="Rows that were not there.")
    updated: int = Field(description="Rows that were there and that the lines changed.")
    unchanged: int = Field(description="Rows that were there as the lines say: not written.")


class OrdersImported(Strict):
    lines: int = Field(description="Lines of the body, as numbered in errors, blank ones included.")
    blank_lines: int = Field(description="Blank lines, skipped.")
    orders: Counts
    users: Counts = Field(description="Upserts of the embedded user objects, one per line that has one.")

"""Upserts of the platform's users, projects and rewards by their own ids (SPEC §7).

Each function validates a decoded JSON object (the body of `PUT /v1/<kind>/{id}`, a line of
`crowdexports import <kind>`, or the `user` embedded in an imported order), then inserts or updates
the row in the session WITHOUT committing: the caller decides what one all-or-nothing request is.
Problems are raised together as one InvalidInput whose field names start with `path` (e.g.
`["line 12", "user"]`), in the Ulule error format the API maps to 400.

Rules: a body is the whole resource (PUT), so required fields must be there, an optional field
absent or null takes its default, unknown fields are refused, and so are the answers' read-only fields,
as PermissionError (`strict=False`, for the platform's full resources embedded in an imported order,
ignores them); `password` alone is write-only and optional: absent or null leaves the stored hash as
it is, and a new one revokes the user's tokens and API keys. Each upsert says what it did
(`Upserted`): sending the same body twice changes nothing and is `unchanged` the second time. Ids of
rows made here (crowdexports.ids) are refused with 409: a sync never replaces a local row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy import text as sql
from sqlalchemy.orm import Session

from crowdexports import ids
from crowdexports.auth import credentials
from crowdexports.auth.accounts import (
    CURRENCY,
    EMAIL,
    LANG,
    MAX_PASSWORD_LENGTH,
    revoke_credentials,
    slug_of,
    valid_timezone,
)
from crowdexports.errors import Conflict, FieldProblem, InvalidInput
from crowdexports.models import Order, OrderItem, Project, Reward, User
from crowdexports.money import to_decimal, to_minor

MAX_I18N_LANGUAGES = 50
MAX_I18N_TEXT = 100_000  # characters per language: reward descriptions are HTML
MAX_NAME_IN_ERROR = 100  # characters of an unknown field's name (or language) repeated in an error
# Secrets keep every character but NUL, which PostgreSQL's texts cannot hold, and lone surrogates: JSON's
# "\ud800" decodes to one, and UTF-8 (PostgreSQL, the files, argon2) cannot hold it.
NOT_SECRET = re.compile("[\x00\ud800-\udfff]")
# One-line texts (names, codes) refuse these too: control characters and line or paragraph separators.
# Format characters (ZWJ in emoji, direction marks) and other spaces stay: real names have them.
NOT_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
# Multi-line texts (i18n HTML) keep tab, LF and CR.
NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
LANG_RULE = "must be a language code such as 'en' or 'fr'"
ONE_LINE_RULE = "must not contain control characters, line breaks or lone surrogates"
READ_ONLY_RULE = "is read-only: the service sets it"


def decode_json(text: str | bytes) -> Any:
    """JSON with every non-integer number as an exact Decimal (amounts never pass through a float).
    Raises ValueError for anything that is not JSON: NaN and Infinity (which JSON does not have), an
    exponent too large for a Decimal, and nesting too deep to parse."""
    try:
        return json.loads(text, parse_float=_decimal, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:  # 1e999999999999999999: past the largest exponent a Decimal has
        raise ValueError(f"{text[:40]} is out of range") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _shown(name: object) -> str:
    return str(name)[:MAX_NAME_IN_ERROR]


class _Fields:
    """Reads one JSON object's fields, collecting every problem instead of stopping at the first.
    A field that is null reads as absent."""

    def __init__(self, body: object, path: Sequence[str], known: Sequence[str], strict: bool,
                 read_only: Sequence[str] = ()) -> None:
        self.path = list(path)
        self.problems: list[FieldProblem] = []
        self.body: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
        if not isinstance(body, Mapping):
            self.problem([], "must be a JSON object", "TypeError")
        for name in self.body if strict else ():
            if name in read_only:
                self.problem([name], READ_ONLY_RULE, "PermissionError")
            elif name not in known:
                self.problem([_shown(name)], "unknown field", "UnknownFieldError")

    def problem(self, names: Sequence[str], message: str, classification: str = "ValueError") -> None:
        self.problems.append(FieldProblem([*self.path, *names], message, classification))

    def ok(self, name: str) -> bool:
        """Whether `name` has no problem so far: checks against other rows are only worth it then."""
        return all(problem.field_names[len(self.path):][:1] != [name] for problem in self.problems)

    def _value(self, name: str, required: bool) -> Any:
        value = self.body.get(name)
        if value is None and required:
            self.problem([name], "is required", "RequiredError")
        return value

    def text(self, name: str, *, required: bool = False, default: str = "", max_length: int = 255,
             forbidden: re.Pattern[str] = NOT_ONE_LINE, check: Callable[[str], object] | None = None,
             rule: str = "", forbidden_rule: str = ONE_LINE_RULE) -> str:
        value = self._value(name, required)
        if value is None:
            return default
        if not isinstance(value, str):
            self.problem([name], "must be a string", "TypeError")
            return default
        if len(value) > max_length:
            self.problem([name], f"must be at most {max_length} characters")
        elif forbidden.search(value):
            self.problem([name], forbidden_rule)
        elif check is not None and not check(value):
            self.problem([name], rule)
        return value

    def integer(self, name: str) -> int | None:
        """A required id."""
        value = self._value(name, required=True)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem([name], "must be an integer", "TypeError")
            return None
        if not 0 < value < 2**63:
            self.problem([name], "must be a positive id")
            return None
        return value

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self.body.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem([name], "must be true or false", "TypeError")
            return default
        return value

    def amount(self, name: str, currency: str | None, *, negative: bool = False) -> int:
        """A required amount in `currency`'s minor units; without a currency (its project is unknown,
        which is reported) only its presence is checked, since its decimals depend on it."""
        value = self._value(name, required=True)
        if value is None or currency is None:
            return 0
        try:
            minor = to_minor(value, currency)
        except TypeError as exc:
            self.problem([name], str(exc), "TypeError")
        except ValueError as exc:
            self.problem([name], str(exc))
        else:
            if minor < 0 and not negative:
                self.problem([name], "must not be negative")
            return minor
        return 0

    def i18n(self, name: str) -> dict[str, str]:
        """A Ulule i18n object, `{"en": "...", "fr": "..."}`; absent or null is `{}`."""
        value = self.body.get(name)
        if value is None:
            return {}
        if not isinstance(value, Mapping) or not all(isinstance(entry, str) for entry in value.values()):
            self.problem([name], 'must be an object of texts by language, such as {"en": "…"}', "TypeError")
            return {}
        if len(value) > MAX_I18N_LANGUAGES:
            self.problem([name], f"must have at most {MAX_I18N_LANGUAGES} languages")
        for lang, entry in value.items():
            if not LANG.fullmatch(lang):
                self.problem([name, _shown(lang)], LANG_RULE)
            elif len(entry) > MAX_I18N_TEXT:
                self.problem([name, lang], f"must be at most {MAX_I18N_TEXT} characters")
            elif NOT_TEXT.search(entry):
                self.problem([name, lang], "must not contain control characters other than tab and line breaks, "
                             "nor lone surrogates")
        return dict(value)

    def done(self) -> None:
        if self.problems:
            raise InvalidInput(self.problems)


def take_id(body: dict[str, Any], path: Sequence[str] = ()) -> int:
    """Pops the `id` of a JSON-lines record (the id a PUT has in its path) from its body."""
    fields = _Fields(body, path, (), strict=False)
    record_id = fields.integer("id")
    fields.done()
    assert record_id is not None
    del body["id"]
    return record_id


USER_FIELDS = ("username", "email", "first_name", "last_name", "name", "lang", "is_staff", "is_active", "password")
PROJECT_FIELDS = ("owner_id", "name", "slug", "currency", "timezone", "lang")
REWARD_FIELDS = ("project_id", "title", "description", "price")
# Fields of the answers that no body sets (PermissionError, not UnknownFieldError): the id is the URL's
# (or the line's), `has_password` follows from `password`, a reward's `currency` is its project's.
USER_READ_ONLY = ("id", "has_password")
PROJECT_READ_ONLY = ("id",)
REWARD_READ_ONLY = ("id", "currency")


def check_username(name: str) -> bool:
    # A colon would make `ApiKey user:key` and HTTP Basic `user:password` ambiguous (RFC 7617 §2).
    return bool(name) and ":" not in name and name.isprintable()


def keep_sequence_ahead(session: Session, table: str, row_id: int) -> None:
    """PostgreSQL's id sequence does not move for a row inserted with its id, so a row inserted without
    one (the ORM's default; rows made here take local ids, crowdexports.ids) would collide with a synced
    id: move it past. SQLite gives a new row max(id) + 1 by itself."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sql(
            "SELECT setval(s.seq, :id) FROM (SELECT CAST(pg_get_serial_sequence(:table, 'id') AS regclass) AS seq) s "
            "WHERE :id > COALESCE(pg_sequence_last_value(s.seq), 0)"), {"table": table, "id": row_id})


def platform_id(kind: str, row_id: int, path: Sequence[str] = ()) -> None:
    """Refuse an id of this service's own rows (crowdexports.ids): a sync would replace a local row."""
    if ids.is_local(row_id):
        raise Conflict(": ".join([*([" ".join(path)] if path else []), ids.refusal(kind, row_id)]))


class Upserted(StrEnum):
    """What an upsert did: `updated` only when a value changed (an unchanged row is not written)."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


def _outcome(session: Session, row: object, created: bool) -> Upserted:
    """Before the flush: `row` created, changed (a value set differs from the stored one), or neither."""
    if created:
        return Upserted.CREATED
    return Upserted.UPDATED if session.is_modified(row) else Upserted.UNCHANGED


def upsert_user(session: Session, user_id: int, body: object, path: Sequence[str] = (), *,
                strict: bool = True) -> Upserted:
    """User `user_id` as `body` says (SPEC §7's fields)."""
    platform_id("user", user_id, path)
    fields = _Fields(body, path, USER_FIELDS, strict, USER_READ_ONLY)
    username = fields.text("username", required=True, max_length=150, check=check_username,
                           rule="must be 1 to 150 printable characters, without ':'")
    email = fields.text("email", required=True, max_length=254, check=EMAIL.fullmatch,
                        rule="must be an email address")
    first_name = fields.text("first_name", max_length=150)
    last_name = fields.text("last_name", max_length=150)
    name = fields.text("name", max_length=300)
    lang = fields.text("lang", default="en", max_length=10, check=LANG.fullmatch, rule=LANG_RULE)
    is_staff = fields.boolean("is_staff")
    is_active = fields.boolean("is_active", default=True)
    password = None
    if fields.body.get("password") is not None:
        password = fields.text("password", max_length=MAX_PASSWORD_LENGTH, forbidden=NOT_SECRET, check=bool,
                               rule="must not be empty", forbidden_rule="must not contain NUL nor lone surrogates")
    if fields.ok("username"):
        holder = session.scalar(select(User.id).where(User.username == username, User.id != user_id))
        if holder is not None:
            fields.problem(["username"], f"is already the username of user {holder}")
    fields.done()
    user = session.get(User, user_id)
    created = user is None
    if user is None:
        user = User(id=user_id)
        session.add(user)
    user.username, user.email, user.lang, user.is_staff = username, email, lang, is_staff
    user.first_name, user.last_name, user.is_active = first_name, last_name, is_active
    user.name = name or f"{first_name} {last_name}".strip()
    # The same password again leaves the row as it is (a new hash would have a new salt). A replaced
    # one ends every session and key given out under the old one.
    if password is not None and (user.password_hash is None
                                 or not credentials.verify_password(password, user.password_hash)):
        if user.password_hash is not None:
            revoke_credentials(session, user_id)
        user.password_hash = credentials.hash_password(password)
    upserted = _outcome(session, user, created)
    session.flush()
    if created:
        keep_sequence_ahead(session, "users", user_id)
    return upserted


def _repriced_rewards(session: Session, project: Project, currency: str, fields: _Fields) -> list[tuple[Reward, int]]:
    """The project's rewards priced in `currency`, for a change of currency. Refused once the project
    has orders: their amounts are stored in the old currency's minor unit. A reward keeps the number
    of its price (25.00 EUR becomes 25 JPY), unless the new currency cannot write it (25.50 in JPY)."""
    if session.scalar(select(Order.id).where(Order.project_id == project.id).limit(1)) is not None:
        fields.problem(["currency"], f"cannot change from {project.currency}: the project has orders")
        return []
    repriced = []
    for reward in session.scalars(select(Reward).where(Reward.project_id == project.id).order_by(Reward.id)):
        price = to_decimal(reward.price, project.currency)
        try:
            repriced.append((reward, to_minor(price, currency)))
        except ValueError as exc:
            fields.problem(["currency"], f"reward {reward.id}'s price {price} {exc}: send the reward with a "
                           f"price that {currency} can write first")
    return repriced


def upsert_project(session: Session, project_id: int, body: object, path: Sequence[str] = (), *,
                   strict: bool = True) -> Upserted:
    """Project `project_id` as `body` says. See _repriced_rewards for a new currency."""
    platform_id("project", project_id, path)
    fields = _Fields(body, path, PROJECT_FIELDS, strict, PROJECT_READ_ONLY)
    owner_id = fields.integer("owner_id")
    name = fields.text("name", required=True, check=str.strip, rule="must not be blank")
    slug = fields.text("slug")
    currency = fields.text("currency", required=True, max_length=3, check=CURRENCY.fullmatch,
                           rule="must be an ISO 4217 code such as 'EUR'")
    timezone = fields.text("timezone", default="Europe/Paris", max_length=64, check=valid_timezone,
                           rule="must be an IANA time zone such as 'Europe/Paris'")
    lang = fields.text("lang", default="en", max_length=10, check=LANG.fullmatch, rule=LANG_RULE)
    if owner_id is not None and session.get(User, owner_id) is None:
        fields.problem(["owner_id"], f"no user {owner_id}")
    project = session.get(Project, project_id)
    repriced = []
    if project is not None and fields.ok("currency") and currency != project.currency:
        repriced = _repriced_rewards(session, project, currency, fields)
    fields.done()
    created = project is None
    if project is None:
        project = Project(id=project_id)
        session.add(project)
    assert owner_id is not None  # done() raised otherwise
    project.owner_id, project.name, project.slug = owner_id, name, slug or slug_of(name)
    project.currency, project.timezone, project.lang = currency, timezone, lang
    for reward, price in repriced:
        reward.price = price
    upserted = _outcome(session, project, created)
    session.flush()
    if created:
        keep_sequence_ahead(session, "projects", project_id)
    return upserted


def upsert_reward(session: Session, reward_id: int, body: object, path: Sequence[str] = (), *,
                  strict: bool = True) -> Upserted:
    """Reward `reward_id` as `body` says, its price in its project's currency. It
    cannot move to another project once it is in orders, which belong to its project."""
    platform_id("reward", reward_id, path)
    fields = _Fields(body, path, REWARD_FIELDS, strict, REWARD_READ_ONLY)
    project_id = fields.integer("project_id")
    project = session.get(Project, project_id) if project_id is not None else None
    if project_id is not None and project is None:
        fields.problem(["project_id"], f"no project {project_id}")
    title = fields.i18n("title")
    description = fields.i18n("description")
    price = fields.amount("price", project.currency if project else None)
    reward = session.get(Reward, reward_id)
    if reward is not None and project is not None and reward.project_id != project.id and session.scalar(
            select(OrderItem.id).where(OrderItem.reward_id == reward_id).limit(1)) is not None:
        fields.problem(["project_id"], f"cannot change from {reward.project_id}: the reward is in orders")
    fields.done()
    created = reward is None
    if reward is None:
        reward = Reward(id=reward_id)
        session.add(reward)
    assert project_id is not None
    reward.project_id, reward.title, reward.description, reward.price = project_id, title, description, price
    upserted = _outcome(session, reward, created)
    session.flush()
    if created:
        keep_sequence_ahead(session, "rewards", reward_id)
    return upserted

"""Upserts of the platform's users, projects and rewards by their own ids (SPEC §7).

Each function validates a decoded JSON object (the body of `PUT /v1/<kind>/{id}`, a line of
`crowdexports import <kind>`, or the `user` embedded in an imported order), then inserts or updates
the row in the session WITHOUT committing: the caller decides what one all-or-nothing request is.
Problems are raised together as one InvalidInput whose field names start with `path` (e.g.
`["line 12", "user"]`), in the Ulule error format the API maps to 400.

Rules: a body is the whole resource (PUT), so required fields must be there and unknown fields are
refused (`strict=False`, for the platform's full resources embedded in an imported order, ignores
them); `password` alone is write-only and optional: absent or null leaves the stored hash as it
is. Sending the same body twice changes nothing and reports `created=False` the second time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crowdexports import security
from crowdexports.accounts import CURRENCY, EMAIL, LANG, MAX_PASSWORD_LENGTH, slug_of, valid_timezone
from crowdexports.errors import FieldProblem, InvalidInput
from crowdexports.models import Order, Project, Reward, User
from crowdexports.money import to_minor

MAX_I18N_LANGUAGES = 50
MAX_I18N_TEXT = 100_000  # characters per language: reward descriptions are HTML


def decode_json(text: str | bytes) -> Any:
    """JSON with every non-integer number as an exact Decimal (amounts never pass through a float);
    NaN and Infinity, which JSON does not have, are refused."""
    return json.loads(text, parse_float=Decimal, parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class _Fields:
    """Reads one JSON object's fields, collecting every problem instead of stopping at the first."""

    def __init__(self, body: object, path: Sequence[str], known: Sequence[str], strict: bool) -> None:
        self.path = list(path)
        self.problems: list[FieldProblem] = []
        self.body: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
        if not isinstance(body, Mapping):
            self.problem([], "must be a JSON object", "TypeError")
        for name in self.body if strict else ():
            if name not in known:
                self.problem([str(name)], "unknown field")

    def problem(self, names: Sequence[str], message: str, classification: str = "ValueError") -> None:
        self.problems.append(FieldProblem([*self.path, *names], message, classification))

    def text(self, name: str, *, required: bool = False, default: str = "", max_length: int = 255,
             check: Callable[[str], object] | None = None, rule: str = "") -> str:
        value = self.body.get(name)
        if value is None:
            if required:
                self.problem([name], "is required")
            return default
        if not isinstance(value, str):
            self.problem([name], "must be a string", "TypeError")
            return default
        if len(value) > max_length or not value.isprintable() and name != "password":
            self.problem([name], f"must be at most {max_length} printable characters")
        elif check is not None and not check(value):
            self.problem([name], rule)
        return value

    def integer(self, name: str, *, required: bool = True) -> int | None:
        value = self.body.get(name)
        if value is None:
            if required:
                self.problem([name], "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem([name], "must be an integer", "TypeError")
            return None
        if not 0 < value < 2**63:
            self.problem([name], "must be a positive id")
            return None
        return value

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self.body.get(name, default)
        if not isinstance(value, bool):
            self.problem([name], "must be true or false", "TypeError")
            return default
        return value

    def amount(self, name: str, currency: str | None) -> int:
        value = self.body.get(name)
        if value is None:
            self.problem([name], "is required")
            return 0
        try:
            return to_minor(value, currency or "EUR")
        except TypeError as exc:
            self.problem([name], str(exc), "TypeError")
        except ValueError as exc:
            self.problem([name], str(exc))
        return 0

    def i18n(self, name: str) -> dict[str, str]:
        value = self.body.get(name, {})
        if not isinstance(value, Mapping) or not all(isinstance(text, str) for text in value.values()):
            self.problem([name], 'must be an object of texts by language, such as {"en": "…"}', "TypeError")
            return {}
        if len(value) > MAX_I18N_LANGUAGES:
            self.problem([name], f"must have at most {MAX_I18N_LANGUAGES} languages")
        for lang, text in value.items():
            if not LANG.fullmatch(lang):
                self.problem([name, lang], "must be a language code such as 'en' or 'fr'")
            elif len(text) > MAX_I18N_TEXT:
                self.problem([name, lang], f"must be at most {MAX_I18N_TEXT} characters")
        return dict(value)

    def done(self) -> None:
        if self.problems:
            raise InvalidInput(self.problems)


USER_FIELDS = ("username", "email", "first_name", "last_name", "name", "lang", "is_staff", "password")
PROJECT_FIELDS = ("owner_id", "name", "slug", "currency", "timezone", "lang")
REWARD_FIELDS = ("project_id", "title", "description", "price")


def upsert_user(session: Session, user_id: int, body: object, path: Sequence[str] = (), *,
                strict: bool = True) -> bool:
    """User `user_id` as `body` says (SPEC §7's fields); True when created."""
    fields = _Fields(body, path, USER_FIELDS, strict)
    username = fields.text("username", required=True, max_length=150, check=lambda name: ":" not in name,
                           rule="must not contain ':'")
    email = fields.text("email", required=True, max_length=254, check=EMAIL.fullmatch, rule="must be an email address")
    first_name = fields.text("first_name", max_length=150)
    last_name = fields.text("last_name", max_length=150)
    name = fields.text("name", max_length=300)
    lang = fields.text("lang", default="en", max_length=10, check=LANG.fullmatch,
                       rule="must be a language code such as 'en' or 'fr'")
    is_staff = fields.boolean("is_staff")
    password = fields.body.get("password")
    if password is not None:
        fields.text("password", max_length=MAX_PASSWORD_LENGTH, check=bool, rule="must not be empty")
    if username and not fields.problems:
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
    user.first_name, user.last_name = first_name, last_name
    user.name = name or f"{first_name} {last_name}".strip()
    # The same password again leaves the row as it is (a new hash would have a new salt).
    if isinstance(password, str) and not security.verify_password(password, user.password_hash):
        user.password_hash = security.hash_password(password)
    session.flush()
    return created


def upsert_project(session: Session, project_id: int, body: object, path: Sequence[str] = (), *,
                   strict: bool = True) -> bool:
    """Project `project_id` as `body` says; True when created. Its currency cannot change once it
    has orders: their amounts are stored in its minor unit."""
    fields = _Fields(body, path, PROJECT_FIELDS, strict)
    owner_id = fields.integer("owner_id")
    name = fields.text("name", required=True, check=str.strip, rule="must not be blank")
    slug = fields.text("slug")
    currency = fields.text("currency", required=True, max_length=3, check=CURRENCY.fullmatch,
                           rule="must be an ISO 4217 code such as 'EUR'")
    timezone = fields.text("timezone", default="Europe/Paris", max_length=64, check=valid_timezone,
                           rule="must be an IANA time zone such as 'Europe/Paris'")
    lang = fields.text("lang", default="en", max_length=10, check=LANG.fullmatch,
                       rule="must be a language code such as 'en' or 'fr'")
    if owner_id is not None and session.get(User, owner_id) is None:
        fields.problem(["owner_id"], f"no user {owner_id}")
    project = session.get(Project, project_id)
    if project is not None and currency and currency != project.currency and session.scalar(
            select(Order.id).where(Order.project_id == project_id).limit(1)) is not None:
        fields.problem(["currency"], f"cannot change from {project.currency}: the project has orders")
    fields.done()
    created = project is None
    if project is None:
        project = Project(id=project_id)
        session.add(project)
    assert owner_id is not None  # done() raised otherwise
    project.owner_id, project.name, project.slug = owner_id, name, slug or slug_of(name)
    project.currency, project.timezone, project.lang = currency, timezone, lang
    session.flush()
    return created


def upsert_reward(session: Session, reward_id: int, body: object, path: Sequence[str] = (), *,
                  strict: bool = True) -> bool:
    """Reward `reward_id` as `body` says, its price in its project's currency; True when created."""
    fields = _Fields(body, path, REWARD_FIELDS, strict)
    project_id = fields.integer("project_id")
    project = session.get(Project, project_id) if project_id is not None else None
    if project_id is not None and project is None:
        fields.problem(["project_id"], f"no project {project_id}")
    title = fields.i18n("title")
    description = fields.i18n("description")
    price = fields.amount("price", project.currency if project else None)
    fields.done()
    reward = session.get(Reward, reward_id)
    created = reward is None
    if reward is None:
        reward = Reward(id=reward_id)
        session.add(reward)
    assert project_id is not None
    reward.project_id, reward.title, reward.description, reward.price = project_id, title, description, price
    session.flush()
    return created

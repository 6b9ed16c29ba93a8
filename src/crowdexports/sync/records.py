"""Upserts of the platform's users, projects and rewards by their own ids (SPEC §7).

Each function validates a decoded JSON object (the body of `PUT /v1/<kind>/{id}` or a line of
`crowdexports import <kind>`) by its fields' rules (crowdexports.rules), then inserts or updates
the row in the session WITHOUT committing: the caller decides what one all-or-nothing request is.
Problems are raised together as one InvalidInput whose field names start with `path` (e.g.
`["line 12", "email"]`), in the Ulule error format the API maps to 400; checks against other rows
(an owner that exists, a username nobody else has) join those of the values.

A body is the whole resource (PUT), so required fields must be there, an optional field absent or
null takes its default, unknown fields are refused, and so are the answers' read-only fields, as
PermissionError; `password` alone is write-only and optional: absent or null leaves the stored hash as
it is, and a new one revokes the user's tokens and API keys. Each upsert says what it did
(`Upserted`): sending the same body twice changes nothing and is `unchanged` the second time. Ids of
rows made here (crowdexports.ids) are refused with 409: a sync never replaces a local row.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy import text as sql
from sqlalchemy.orm import Session

from crowdexports import ids
from crowdexports.auth import credentials
from crowdexports.auth.accounts import revoke_credentials
from crowdexports.errors import Conflict
from crowdexports.models import Order, OrderItem, Project, Reward, User
from crowdexports.money import to_decimal, to_minor
from crowdexports.rules import projects, rewards, users
from crowdexports.rules.kinds import Body, Integer
from crowdexports.rules.reader import Reader
from crowdexports.rules.users import display_name

RECORD_ID = Integer("id")  # of a JSON-lines record: the id a PUT has in its path


def take_id(body: dict[str, Any], path: Sequence[str] = ()) -> int:
    """Pops the `id` of a JSON-lines record (the id a PUT has in its path) from its body."""
    reader = Reader(path)
    record_id = reader.integer(body, RECORD_ID)
    reader.done()
    del body["id"]
    return record_id


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


def _reader(body: object, path: Sequence[str], rules: Body) -> tuple[Reader, dict[str, Any]]:
    """A reader of `body`, a JSON object whose names are all fields of `rules`, and its fields."""
    reader = Reader(path)
    fields = reader.json_object(body)
    reader.closed(fields, rules)
    return reader, fields


def upsert_user(session: Session, user_id: int, body: object, path: Sequence[str] = ()) -> Upserted:
    """User `user_id` as `body` says (SPEC §7's fields)."""
    platform_id("user", user_id, path)
    reader, fields = _reader(body, path, users.USER)
    username, email, first_name, last_name, name, lang = reader.texts(fields, users.PROFILE)
    is_staff = reader.flag(fields, users.IS_STAFF)
    is_active = reader.flag(fields, users.IS_ACTIVE)
    password = reader.text(fields, users.PASSWORD) if fields.get("password") is not None else None
    if reader.ok("username"):
        holder = session.scalar(select(User.id).where(User.username == username, User.id != user_id))
        if holder is not None:
            reader.problem(["username"], f"is already the username of user {holder}")
    reader.done()
    user = session.get(User, user_id)
    created = user is None
    if user is None:
        user = User(id=user_id)
        session.add(user)
    user.username, user.email, user.lang, user.is_staff = username, email, lang, is_staff
    user.first_name, user.last_name, user.is_active = first_name, last_name, is_active
    user.name = display_name(name, first_name, last_name)
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


def _repriced_rewards(session: Session, project: Project, currency: str, reader: Reader) -> list[tuple[Reward, int]]:
    """The project's rewards priced in `currency`, for a change of currency. Refused once the project
    has orders: their amounts are stored in the old currency's minor unit. A reward keeps the number
    of its price (25.00 EUR becomes 25 JPY), unless the new currency cannot write it (25.50 in JPY)."""
    if session.scalar(select(Order.id).where(Order.project_id == project.id).limit(1)) is not None:
        reader.problem(["currency"], f"cannot change from {project.currency}: the project has orders")
        return []
    repriced = []
    for reward in session.scalars(select(Reward).where(Reward.project_id == project.id).order_by(Reward.id)):
        price = to_decimal(reward.price, project.currency)
        try:
            repriced.append((reward, to_minor(price, currency)))
        except ValueError as exc:
            reader.problem(["currency"], f"reward {reward.id}'s price {price} {exc}: send the reward with a "
                           f"price that {currency} can write first")
    return repriced


def upsert_project(session: Session, project_id: int, body: object, path: Sequence[str] = ()) -> Upserted:
    """Project `project_id` as `body` says. See _repriced_rewards for a new currency."""
    platform_id("project", project_id, path)
    reader, fields = _reader(body, path, projects.PROJECT)
    owner_id = reader.integer(fields, projects.OWNER_ID)
    name, slug, currency, timezone, lang = reader.texts(
        fields, (projects.NAME, projects.SLUG, projects.CURRENCY, projects.TIMEZONE, projects.LANG))
    if owner_id and session.get(User, owner_id) is None:
        reader.problem(["owner_id"], f"no user {owner_id}")
    project = session.get(Project, project_id)
    repriced = []
    if project is not None and reader.ok("currency") and currency != project.currency:
        repriced = _repriced_rewards(session, project, currency, reader)
    reader.done()
    created = project is None
    if project is None:
        project = Project(id=project_id)
        session.add(project)
    project.owner_id, project.name, project.slug = owner_id, name, slug or projects.default_slug(name)
    project.currency, project.timezone, project.lang = currency, timezone, lang
    for reward, price in repriced:
        reward.price = price
    upserted = _outcome(session, project, created)
    session.flush()
    if created:
        keep_sequence_ahead(session, "projects", project_id)
    return upserted


def upsert_reward(session: Session, reward_id: int, body: object, path: Sequence[str] = ()) -> Upserted:
    """Reward `reward_id` as `body` says, its price in its project's currency. It
    cannot move to another project once it is in orders, which belong to its project."""
    platform_id("reward", reward_id, path)
    reader, fields = _reader(body, path, rewards.REWARD)
    project_id = reader.integer(fields, rewards.PROJECT_ID)
    project = session.get(Project, project_id) if project_id else None
    if project_id and project is None:
        reader.problem(["project_id"], f"no project {project_id}")
    title = reader.i18n(fields, rewards.TITLE)
    description = reader.i18n(fields, rewards.DESCRIPTION)
    price = reader.amount(fields, rewards.PRICE, project.currency if project else None)
    reward = session.get(Reward, reward_id)
    if reward is not None and project is not None and reward.project_id != project.id and session.scalar(
            select(OrderItem.id).where(OrderItem.reward_id == reward_id).limit(1)) is not None:
        reader.problem(["project_id"], f"cannot change from {reward.project_id}: the reward is in orders")
    reader.done()
    created = reward is None
    if reward is None:
        reward = Reward(id=reward_id)
        session.add(reward)
    reward.project_id, reward.title, reward.description, reward.price = project_id, title, description, price
    upserted = _outcome(session, reward, created)
    session.flush()
    if created:
        keep_sequence_ahead(session, "rewards", reward_id)
    return upserted

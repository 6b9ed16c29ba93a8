"""Realistic fake orders, fast enough for benchmarks (200,000 orders in about 20 s on 2 cores).

Faker is slow (tens of µs a call), so it only fills small pools of names, streets, cities and postal
codes in several locales (accents, CJK, right-to-left scripts, postal codes with leading zeros);
rows are then assembled from the pools with `random` as tuples and inserted in batches (see
`bulk.BulkInsert`: executemany on SQLite, COPY on PostgreSQL), with ids allocated up front so no row
needs a round trip. Each batch is committed, so a long seed shows progress and an interruption
keeps the batches already done. Seeding is an operator's tool: do not run two at once on one database.

Data mix: about 5% of orders have no item (a contribution without reward: subtotal = total = the
amount given, no shipping address); the others have one to three items, and subtotal = the sum of
the line totals, total = subtotal + shipping. Some notes are hostile on purpose (formulas, quotes,
newlines, emoji, right-to-left text) to exercise the writers.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

from faker import Faker
from sqlalchemy import Table, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from crowdexports import ids
from crowdexports.database.bulk import BulkInsert
from crowdexports.models import Address, Base, Order, OrderItem, Project, Reward, User
from crowdexports.money import exponent

BATCH_SIZE = 5000
POOL_SIZE = 150  # Faker entries per locale
HISTORY_DAYS = 180
T = TypeVar("T")


def _bag(weights: dict[T, int]) -> tuple[T, ...]:
    """Each value repeated `weight` times: rng.choice(bag) is a weighted draw, cheaper than choices()."""
    return tuple(value for value, weight in weights.items() for _ in range(weight))


# Faker locale -> (user language, country code, weight).
LOCALES: dict[str, tuple[str, str, int]] = {
    "fr_FR": ("fr", "FR", 40), "en_US": ("en", "US", 20), "de_DE": ("de", "DE", 12), "es_ES": ("es", "ES", 8),
    "it_IT": ("it", "IT", 6), "ja_JP": ("ja", "JP", 6), "he_IL": ("he", "IL", 4), "ar_AA": ("ar", "AE", 4),
}
STATUSES = _bag({"payment-completed": 70, "payment-done": 10, "processing": 5, "awaiting-confirmation": 4,
                 "cancelled": 4, "payment-invalid": 3, "payment-reimbursed": 3, "error": 1})
PAYMENT_METHODS = _bag({"creditcard": 60, "paypal": 20, "sepa": 6, "ideal": 4, "bancontact": 4,
                        "applepay": 4, "googlepay": 2})
TRACKING = _bag({("", ""): 40, ("facebook", "social"): 15, ("newsletter", "email"): 15, ("google", "cpc"): 10,
                 ("instagram", "social"): 10, ("ulule", "referral"): 7, ("kisskiss", "partner"): 3})
ITEM_COUNTS = _bag({0: 5, 1: 75, 2: 15, 3: 5})
QUANTITIES = _bag({1: 85, 2: 12, 3: 3})
BILLING_TYPES = _bag({"personal": 85, "business": 10, "association": 5})
NOTES = ("Merci pour ce projet !", "Please ship before Christmas, thanks", 'Gift for my "dad", no invoice',
         "Leave it at the door,\nsecond floor\r\nthanks", "😀🎉 Can't wait!", "=SUM(A1:A9)",
         "+33 6 12 34 56 78", "-1 if late", "@everyone", "שלום, תודה רבה", "شكرا جزيلا على هذا المشروع",
         "よろしくお願いします", "Ça, c'est « génial » ; bravo…", "Größe: XL, Farbe: grün",
         "  leading spaces", "Tab\there")
SHIPPING_PRICES = (0, 0, 500, 750, 990, 1500)
DOMAINS = ("example.com", "example.org", "example.net")


@dataclass(frozen=True)
class _Person:
    lang: str
    country: str
    first_name: str
    last_name: str
    username: str
    street: str
    postal_code: str
    city: str
    state: str
    phone: str
    company: str


@lru_cache(maxsize=4)  # Faker is the slow part of a small seed; the pools are immutable
def _people(seed: int) -> tuple[_Person, ...]:
    """POOL_SIZE people per locale, each repeated by its locale's weight (a bag to draw from)."""
    people: list[_Person] = []
    for locale, (lang, country, weight) in LOCALES.items():
        fake = Faker(locale)
        fake.seed_instance(seed)
        pool = []
        for index in range(POOL_SIZE):
            postal_code = fake.postcode()
            if index % 6 == 0 and postal_code[:1].isdigit():
                postal_code = "0" + postal_code[1:]  # leading zeros must survive every export
            pool.append(_Person(
                lang, country, fake.first_name(), fake.last_name(), fake.user_name(), fake.street_address(),
                postal_code, fake.city(), fake.state_abbr() if locale == "en_US" else "", fake.phone_number(),
                fake.company()))
        people += pool * weight
    return tuple(people)


def _ensure_rewards(session: Session, project: Project, rng: random.Random) -> list[tuple[int, int]]:
    """(reward id, price) of the project's rewards, making 3-6 i18n rewards (some HTML) if none exist."""
    query = select(Reward.id, Reward.price).where(Reward.project_id == project.id).order_by(Reward.id)
    rewards = session.execute(query).all()
    if not rewards:
        scale = 10 ** max(exponent(project.currency), 2)  # yen-like currencies: hundreds per reward
        titles = [("Thank-you card", "Carte de remerciement"), ("Early bird", "Lève-tôt"),
                  ("The kettle", "La bouilloire"), ("Kettle + mug", "Bouilloire + tasse"),
                  ("Collector's box", "Coffret collector"), ("Patron", "Mécène")]
        first_id = ids.next_local_id(session, Reward)
        for index, (en, fr) in enumerate(titles[: rng.randint(3, 6)]):
            session.add(Reward(
                id=first_id + index, project_id=project.id, title={"en": en, "fr": fr},
                description={"en": f"<p>{en}: <b>limited</b> edition &amp; free shipping</p><ul><li>one</li>"
                                   f"<li>two</li></ul>",
                             "fr": f"<p>{fr} : édition <i>limitée</i> &amp; livraison offerte</p>"}
                if index % 2 == 0 else {"en": f"{en}, shipped worldwide."},
                price=(5, 25, 49, 89, 150, 500)[index] * scale))
        session.commit()
        rewards = session.execute(query).all()
    return [(reward_id, price) for reward_id, price in rewards]


# Column order of the tuples `_Seeder` makes; tables in foreign-key order (a batch inserts in this order).
_COLUMNS: dict[type[Base], tuple[str, ...]] = {
    User: ("id", "username", "email", "first_name", "last_name", "name", "lang", "is_staff", "password_hash",
           "created_at"),
    Address: ("id", "first_name", "last_name", "entity_name", "type", "address_1", "address_2", "postal_code",
              "city", "state", "country", "phone_number"),
    Order: ("id", "project_id", "user_id", "created_at", "status", "payment_method", "total", "subtotal",
            "shipping_total", "note", "tracking_source", "tracking_medium", "shipping_address_id",
            "billing_address_id"),
    OrderItem: ("id", "order_id", "reward_id", "quantity", "unit_price", "line_total", "line_shipping_total"),
}
Rows = dict[type[Base], list[tuple[Any, ...]]]


# Backers and orders are the platform's kind of rows, made here: their ids are local ones (crowdexports.ids).
# Addresses and items have ids of this service's own in any case.
_LOCAL_IDS = (User, Order)
# PostgreSQL hands out ids from each table's sequence, which explicit ids do not move: the seed
# starts past both the highest id and the sequence, and moves the sequence past the ids it used.
_PG_NEXT_ID = ("SELECT GREATEST(COALESCE(MAX(id), 0), COALESCE(pg_sequence_last_value("
               "pg_get_serial_sequence(%(table)s, 'id')::regclass), 0)) + 1 FROM {table}")
_PG_MOVE_SEQUENCE = ("SELECT setval(seq, GREATEST(%(last)s, COALESCE(pg_sequence_last_value(seq::regclass), 0))) "
                     "FROM pg_get_serial_sequence(%(table)s, 'id') AS seq")


def _next_id(connection: Connection, model: type[Base]) -> int:
    if model in _LOCAL_IDS:
        return ids.next_local_id(connection, model)
    table: Table = model.__table__
    if connection.dialect.name == "postgresql":
        sql = _PG_NEXT_ID.format(table=connection.dialect.identifier_preparer.quote(table.name))
        return int(connection.exec_driver_sql(sql, {"table": table.name}).scalar_one())
    return int(connection.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()) + 1


def _move_sequences(connection: Connection, next_ids: dict[type[Base], int]) -> None:
    if connection.dialect.name == "postgresql":
        for model, next_id in next_ids.items():
            if model in _LOCAL_IDS:
                continue
            connection.exec_driver_sql(_PG_MOVE_SEQUENCE, {"table": model.__tablename__, "last": next_id - 1})


def seed_orders(session: Session, project_id: int, count: int, *,
                progress: Callable[[int], None] | None = None, seed: int | None = None) -> int:
    """Insert `count` fake orders (with backers, addresses and items) into the project; return `count`.

    `progress(done)` is called after each committed batch. The same `seed` gives the same data
    (dates are relative to today).
    """
    project = session.get(Project, project_id)
    if project is None:
        raise ValueError(f"no project {project_id}")
    rng = random.Random(seed)
    people = _people(rng.randrange(2**32))
    seeder = _Seeder(session, project_id, rng, people, _ensure_rewards(session, project, rng))
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start, span = today - timedelta(days=HISTORY_DAYS), HISTORY_DAYS * 86400
    done = 0
    while done < count:
        batch: Rows = {model: [] for model in _COLUMNS}
        for _ in range(min(BATCH_SIZE, count - done)):
            seeder.order(batch, start + timedelta(seconds=rng.randrange(span)))
        connection = session.connection()
        for model, columns in _COLUMNS.items():
            if batch[model]:
                BulkInsert(connection, model, columns)(batch[model])
        _move_sequences(connection, seeder.next_ids)
        session.commit()
        done += len(batch[Order])
        if progress is not None:
            progress(done)
    return done


class _Seeder:
    """Makes one order's rows at a time from the pools; ids come from counters started at max(id)+1."""

    def __init__(self, session: Session, project_id: int, rng: random.Random,
                 people: Sequence[_Person], rewards: Sequence[tuple[int, int]]) -> None:
        self.project_id = project_id
        self.rng = rng
        self.people = people
        self.rewards = rewards
        self.backers: list[tuple[int, _Person]] = []
        self.next_ids = {model: _next_id(session.connection(), model) for model in _COLUMNS}

    def _take(self, model: type[Base]) -> int:
        value = self.next_ids[model]
        self.next_ids[model] = value + 1
        return value

    def _backer(self, batch: Rows, created_at: datetime) -> tuple[int, _Person]:
        rng = self.rng
        if self.backers and rng.random() < 0.2:  # a returning backer
            return rng.choice(self.backers)
        person = rng.choice(self.people)
        user_id = self._take(User)
        username = f"{person.username}{user_id}"
        name = f"{person.first_name} {person.last_name}" if rng.random() < 0.7 else ""
        batch[User].append((user_id, username, f"{username}@{rng.choice(DOMAINS)}", person.first_name,
                            person.last_name, name, person.lang, False, None, created_at))
        self.backers.append((user_id, person))
        return user_id, person

    def _address(self, batch: Rows, person: _Person, kind: str) -> int:
        address_id = self._take(Address)
        entity = person.company if kind != "personal" else ""
        address_2 = "Bât. B, 2e étage" if self.rng.random() < 0.1 else ""
        batch[Address].append((address_id, person.first_name, person.last_name, entity, kind, person.street,
                               address_2, person.postal_code, person.city, person.state, person.country,
                               person.phone))
        return address_id

    def order(self, batch: Rows, created_at: datetime) -> None:
        rng = self.rng
        user_id, person = self._backer(batch, created_at)
        order_id = self._take(Order)
        chosen = rng.sample(self.rewards, min(rng.choice(ITEM_COUNTS), len(self.rewards)))
        subtotal, shipping_total, shipping_id = 0, 0, None
        if chosen:
            shipping_id = self._address(batch, person, "personal")
            shipping_total = rng.choice(SHIPPING_PRICES)
        else:
            subtotal = rng.choice(self.rewards)[1] or 100  # a contribution without reward
        for number, (reward_id, price) in enumerate(chosen, 1):
            quantity = rng.choice(QUANTITIES)
            subtotal += price * quantity
            batch[OrderItem].append((self._take(OrderItem), order_id, reward_id, quantity, price,
                                     price * quantity, shipping_total if number == len(chosen) else 0))
        billing_id = self._address(batch, person, rng.choice(BILLING_TYPES))
        source, medium = rng.choice(TRACKING)
        note = rng.choice(NOTES) if rng.random() < 0.3 else ""
        batch[Order].append((order_id, self.project_id, user_id, created_at, rng.choice(STATUSES),
                             rng.choice(PAYMENT_METHODS), subtotal + shipping_total, subtotal, shipping_total,
                             note, source, medium, shipping_id, billing_id))

"""Small builders for rows the tests need; each commits and returns the object."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from crowdexports.models import Address, Order, OrderItem, Project, Reward, User

_ids = itertools.count(1)


def make_user(session: Session, username: str | None = None, *, lang: str = "en", is_staff: bool = False,
              email: str | None = None) -> User:
    username = username or f"user{next(_ids)}"
    user = User(username=username, email=email or f"{username}@example.com", first_name=username.title(),
                last_name="Tester", name=f"{username.title()} Tester", lang=lang, is_staff=is_staff)
    session.add(user)
    session.commit()
    return user


def make_project(session: Session, owner: User, name: str = "Solar Kettle", *, currency: str = "EUR",
                 timezone: str = "Europe/Paris", lang: str = "en") -> Project:
    project = Project(owner_id=owner.id, name=name, slug=name.lower().replace(" ", "-"), currency=currency,
                      timezone=timezone, lang=lang)
    session.add(project)
    session.commit()
    return project


def make_reward(session: Session, project: Project, price: int = 2500, title: str = "Early bird", *,
                reward_id: int | None = None) -> Reward:
    reward = Reward(id=reward_id, project_id=project.id, title={"en": title, "fr": f"{title} (fr)"},
                    description={"en": f"{title} description", "fr": f"description {title}"}, price=price)
    session.add(reward)
    session.commit()
    return reward


def make_order(session: Session, project: Project, backer: User, items: list[tuple[Reward, int]], *,
               created_at: datetime | None = None, note: str = "", status: str = "payment-completed",
               postal_code: str = "75001", order_id: int | None = None) -> Order:
    """An order with the given (reward, quantity) items, both addresses, and totals that add up."""
    shipping = Address(first_name="Ada", last_name="Lovelace", address_1="1 rue de Rivoli",
                       postal_code=postal_code, city="Paris", country="FR")
    billing = Address(first_name="Ada", last_name="Lovelace", type="personal", address_1="1 rue de Rivoli",
                      postal_code=postal_code, city="Paris", country="FR")
    session.add_all([shipping, billing])
    session.flush()
    subtotal = sum(reward.price * quantity for reward, quantity in items)
    order = Order(id=order_id, project_id=project.id, user_id=backer.id, created_at=created_at or datetime.now(UTC),
                  status=status, payment_method="creditcard", total=subtotal, subtotal=subtotal,
                  shipping_total=0, note=note, shipping_address_id=shipping.id, billing_address_id=billing.id)
    session.add(order)
    session.flush()
    for reward, quantity in items:
        session.add(OrderItem(order_id=order.id, reward_id=reward.id, quantity=quantity, unit_price=reward.price,
                              line_total=reward.price * quantity))
    session.commit()
    return order

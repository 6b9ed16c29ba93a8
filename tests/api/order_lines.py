"""Helpers of the order import tests: Ulule order resources as JSON lines, and the import call."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crowdexports.models import Address, Order, OrderItem, User
from tests.api.conftest import Account


class Number(str):
    """Written into a line as a JSON number with exactly this text (never through a Python float)."""


def dumps(value: object) -> str:
    """JSON of `value`, with Number as a bare number."""
    if isinstance(value, Number):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(key)}: {dumps(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(dumps(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def ndjson(*lines: object) -> bytes:
    """One line per value; a str is written as it is (for lines that are not JSON)."""
    return "".join((line if isinstance(line, str) else dumps(line)) + "\n" for line in lines).encode()


def address(**fields: object) -> dict[str, object]:
    return {"id": 99, "first_name": "Zoé", "last_name": "Durand", "entity_name": "", "type": "personal",
            "address1": "1 rue de Rivoli", "address2": "", "postal_code": "01000", "city": "Bourg",
            "state": "", "country": "FR", "phone_number": "+33 6 00 00 00 00", **fields}


def user(user_id: int, **fields: object) -> dict[str, object]:
    """A Ulule user resource, with fields we do not keep."""
    return {"id": user_id, "username": f"backer{user_id}", "email": f"backer{user_id}@example.com",
            "first_name": "Zoé", "last_name": "Durand", "name": "", "lang": "fr", "avatar": {"url": "x"},
            "date_joined": "2020-01-01T00:00:00Z", **fields}


def item(reward_id: int, quantity: int = 1, unit_price: str = "10.00", **fields: object) -> dict[str, object]:
    return {"reward_id": reward_id, "quantity": quantity, "unit_price": unit_price,
            "line_total": str(Decimal(unit_price) * quantity), "line_shipping_total": "0", **fields}


def order(order_id: int, *, user_id: int | None = None, items: list[dict[str, object]] | None = None,
          **fields: object) -> dict[str, object]:
    """A Ulule order resource; its user embedded unless `user_id` is given."""
    line: dict[str, object] = {
        "id": order_id, "created_at": f"2026-03-01T10:{order_id % 60:02d}:00+01:00", "status": "payment-completed",
        "payment_method": "creditcard", "order_total": "12.50", "order_subtotal": "10.00",
        "order_shipping_total": "2.50", "note": "", "shipping_address": address(), "billing_address": address(),
        "items": items if items is not None else [], "tracking": {"source": "newsletter", "medium": "email"},
        "statuses": [{"status": "payment-completed"}], "is_anonymous": False,
    }
    if user_id is None:
        line["user"] = user(1000 + order_id % 7)
    else:
        line["user_id"] = user_id
    return {**line, **fields}


def post_import(client: TestClient, account: Account | None, project_id: int | str, body: bytes,
                content_type: str = "application/x-ndjson") -> httpx.Response:
    headers = {"Content-Type": content_type, **(account.bearer if account else {})}
    return client.post(f"/v1/projects/{project_id}/orders/import", content=body, headers=headers)


def counts(session: Session) -> dict[str, int]:
    return {model.__tablename__: int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Order, OrderItem, Address, User)}


def orphan_addresses(session: Session) -> int:
    used = select(Order.shipping_address_id).union(select(Order.billing_address_id)).subquery()
    return int(session.scalar(select(func.count()).select_from(Address)
                              .where(Address.id.not_in(select(used.c[0]).where(used.c[0].is_not(None))))) or 0)


def answer(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body

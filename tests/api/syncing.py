"""Helpers of the sync API tests: PUT calls, valid bodies, and a snapshot of every synced row."""

from __future__ import annotations

import json
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crowdexports.models import ApiKey, OAuthToken, Order, Project, Reward, User
from tests.api.conftest import Account

SYNCED = (User, Project, Reward, Order, ApiKey, OAuthToken)


def user_body(username: str = "zoe", **fields: object) -> dict[str, object]:
    return {"username": username, "email": f"{username}@example.com", "first_name": "Zoé", "last_name": "Durand",
            "lang": "fr", **fields}


def project_body(owner_id: int, **fields: object) -> dict[str, object]:
    return {"owner_id": owner_id, "name": "Été à Tokyo", "currency": "EUR", "timezone": "Europe/Paris",
            "lang": "fr", **fields}


def reward_body(project_id: int, **fields: object) -> dict[str, object]:
    return {"project_id": project_id, "title": {"en": "Early bird", "fr": "Lève-tôt"},
            "description": {"en": "<p>A <b>kettle</b></p>"}, "price": "12.50", **fields}


def put(client: TestClient, account: Account, kind: str, resource_id: int | str, body: object) -> httpx.Response:
    return put_raw(client, account, kind, resource_id, json.dumps(body))


def put_raw(client: TestClient, account: Account, kind: str, resource_id: int | str, content: str | bytes,
            content_type: str = "application/json") -> httpx.Response:
    """A PUT with the body exactly as given: JSON numbers as typed, not through a Python float."""
    return client.put(f"/v1/{kind}/{resource_id}", content=content,
                      headers={**account.bearer, "Content-Type": content_type})


def problems(response: httpx.Response) -> list[tuple[str, list[str]]]:
    """(classification, fieldNames) of each error, in order."""
    return [(error["classification"], error["fieldNames"]) for error in response.json()["errors"]]


def snapshot(sessions: sessionmaker[Session]) -> dict[str, list[dict[str, Any]]]:
    """Every row of the tables a sync touches, read afresh: equal snapshots mean nothing was written."""
    with sessions() as session:
        return {model.__tablename__: [
            {column.key: getattr(row, column.key) for column in model.__mapper__.columns}
            for row in session.scalars(select(model).order_by(model.id))
        ] for model in SYNCED}

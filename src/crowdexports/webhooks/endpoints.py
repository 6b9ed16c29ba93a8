"""An owner's webhook endpoints: registered, listed, shown, deleted, and their attempts listed.

Who sees an endpoint: its owner only. To anyone else, staff included, it does not exist (404): which URLs
an owner's data goes to is theirs alone, and staff have no use for them (docs/decisions.md "Webhooks").
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crowdexports.errors import Conflict, NotFound
from crowdexports.ids import MAX_ID
from crowdexports.models import Project, User, UserRecord, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from crowdexports.rules import webhooks
from crowdexports.rules.reader import Reader
from crowdexports.webhooks import signing
from crowdexports.webhooks.addresses import refusal

Caller = User | UserRecord
MAX_ATTEMPTS_LISTED = 100


def check_body(session: Session, body: Mapping[str, object], caller: Caller, *,
               allow_private: bool) -> tuple[str, list[str], int | None]:
    """The URL, events (without repeats, in the order given) and project of a new endpoint."""
    reader = Reader()
    reader.closed(body, webhooks.ENDPOINT)
    url = reader.text(body, webhooks.URL)
    if reader.ok(webhooks.URL.name) and not allow_private:
        _check_literal_address(reader, url)
    events = reader.choices(body, webhooks.EVENTS_FIELD)
    project_id = reader.integer(body, webhooks.PROJECT) or None
    if project_id is not None and reader.ok(webhooks.PROJECT.name):
        owner = session.scalar(select(Project.owner_id).where(Project.id == project_id))
        if owner != caller.id:  # another owner's project is as a missing one
            reader.problem([webhooks.PROJECT.name], f"project {project_id} is not one of yours")
    reader.done()
    return url, events, project_id


def _check_literal_address(reader: Reader, url: str) -> None:
    """A URL naming a refused address outright is refused now; names are checked when delivering."""
    host = urlsplit(url).hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return
    reason = refusal(address)
    if reason is not None:
        reader.problem([webhooks.URL.name], f"{reason}; webhooks call public addresses only")


def create_endpoint(session: Session, body: Mapping[str, object], caller: Caller, *, allow_private: bool,
                    most: int) -> WebhookEndpoint:
    """A new endpoint of the caller's, with a new secret, within `most` endpoints per owner: counted after
    the insert in its transaction, the owner's row locked first on PostgreSQL (as presets are counted)."""
    url, events, project_id = check_body(session, body, caller, allow_private=allow_private)
    session.execute(select(User.id).where(User.id == caller.id).with_for_update())
    endpoint = WebhookEndpoint(user_id=caller.id, project_id=project_id, url=url, events=events,
                               secret=signing.new_secret())
    session.add(endpoint)
    session.flush()
    count = session.scalar(select(func.count()).select_from(WebhookEndpoint)
                           .where(WebhookEndpoint.user_id == caller.id)) or 0
    if count > most:
        session.rollback()
        raise Conflict(f"you have {most} webhook endpoints, as many as you may: delete one first")
    session.commit()
    return endpoint


def list_endpoints(session: Session, caller: Caller) -> list[WebhookEndpoint]:
    """The caller's endpoints, oldest first."""
    return list(session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.user_id == caller.id)
                                .order_by(WebhookEndpoint.id)))


def own_endpoint(session: Session, endpoint_id: int, caller: Caller) -> WebhookEndpoint:
    """The endpoint if it is the caller's; else NotFound, as for a missing one."""
    endpoint = session.get(WebhookEndpoint, endpoint_id) if 0 < endpoint_id <= MAX_ID else None
    if endpoint is None or endpoint.user_id != caller.id:
        raise NotFound(f"webhook endpoint {endpoint_id} does not exist")
    return endpoint


def delete_endpoint(session: Session, endpoint: WebhookEndpoint) -> None:
    """Gone with its deliveries and attempts (the foreign keys cascade): nothing more is sent to it."""
    session.delete(endpoint)
    session.commit()


def list_attempts(session: Session, endpoint: WebhookEndpoint) -> list[tuple[WebhookAttempt, WebhookDelivery]]:
    """The endpoint's latest attempts, newest first, with their delivery; at most MAX_ATTEMPTS_LISTED."""
    rows = session.execute(
        select(WebhookAttempt, WebhookDelivery).join(WebhookDelivery, WebhookAttempt.delivery_id == WebhookDelivery.id)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookAttempt.started_at.desc(), WebhookAttempt.id.desc()).limit(MAX_ATTEMPTS_LISTED))
    return [(attempt, delivery) for attempt, delivery in rows]


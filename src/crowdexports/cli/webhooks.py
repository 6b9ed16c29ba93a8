"""`crowdexports webhooks list|add|remove|attempts`: an owner's webhook endpoints, as the API's
/v1/webhook-endpoints, with the same rules (webhooks.endpoints). The operator names the owner with --user;
an endpoint of another user's is as a missing one, as in the API."""

from __future__ import annotations

import json

import typer
from sqlalchemy.orm import Session

from crowdexports.auth import accounts
from crowdexports.cli.output import command_group, domain_errors, emit
from crowdexports.config import Settings
from crowdexports.database.engine import make_engine, make_session_factory
from crowdexports.webhooks import endpoints
from crowdexports.webhooks.resources import attempt_resource, endpoint_resource
from crowdexports.webhooks.rules import EVENTS

webhooks = command_group("Webhook endpoints (URLs told when an owner's exports finish).")

USER_OPTION = typer.Option(..., "--user", help="The owner's username.")
ID_OPTION = typer.Option(..., "--id", help="The endpoint's id (webhooks list).")
JSON_FLAG = typer.Option(False, "--json", help="Print one JSON object.")
EVENT_OPTION = typer.Option(..., "--event", help=f"One of {', '.join(EVENTS)}; repeat it.")


def _session() -> Session:
    return make_session_factory(make_engine(Settings().resolved_database_url))()


def _line(endpoint: dict[str, object]) -> str:
    state = "enabled" if endpoint["enabled"] else f"disabled ({endpoint['disabled_reason']})"
    scope = f"project {endpoint['project_id']}" if endpoint["project_id"] else "all projects"
    return f"{endpoint['id']} {endpoint['url']} {','.join(endpoint['events'])} {scope} {state}"  # type: ignore[arg-type]


@webhooks.command("list")
def webhooks_list(user: str = USER_OPTION, as_json: bool = JSON_FLAG) -> None:
    """A user's webhook endpoints, oldest first, without their secrets."""
    with domain_errors(), _session() as session:
        owner = accounts.find_user(session, user)
        listed = [endpoint_resource(endpoint) for endpoint in endpoints.list_endpoints(session, owner)]
        emit({"username": owner.username, "webhook_endpoints": listed}, as_json,
             "\n".join(_line(endpoint) for endpoint in listed) or f"{owner.username} has no webhook endpoints")


@webhooks.command("add")
def webhooks_add(user: str = USER_OPTION, url: str = typer.Option(..., help="https://… called with POST."),
                 event: list[str] = EVENT_OPTION,
                 project: int | None = typer.Option(None, help="One project of the user's; absent: all of them."),
                 as_json: bool = JSON_FLAG) -> None:
    """Register an endpoint for a user; its signing secret is printed this once."""
    settings = Settings()
    body: dict[str, object] = {"url": url, "events": event, **({"project_id": project} if project else {})}
    with domain_errors(), _session() as session:
        owner = accounts.find_user(session, user)
        endpoint = endpoints.create_endpoint(session, body, owner,
                                             allow_private=settings.webhooks_allow_private_addresses,
                                             most=settings.max_webhook_endpoints_per_owner)
        made = {**endpoint_resource(endpoint), "secret": endpoint.secret}
        emit(made, as_json, f"webhook endpoint {endpoint.id} for {owner.username}: {endpoint.url}\n"
             f"signing secret (shown once): {endpoint.secret}")


@webhooks.command("remove")
def webhooks_remove(user: str = USER_OPTION, endpoint_id: int = ID_OPTION, as_json: bool = JSON_FLAG) -> None:
    """Delete an endpoint with its deliveries and attempts: nothing more is sent to it."""
    with domain_errors(), _session() as session:
        endpoint = endpoints.own_endpoint(session, endpoint_id, accounts.find_user(session, user))
        removed = endpoint_resource(endpoint)
        endpoints.delete_endpoint(session, endpoint)
        emit(removed, as_json, f"webhook endpoint {endpoint_id} deleted")


@webhooks.command("attempts")
def webhooks_attempts(user: str = USER_OPTION, endpoint_id: int = ID_OPTION, as_json: bool = JSON_FLAG) -> None:
    """An endpoint's latest delivery attempts, newest first: the event, its id, the answer."""
    with domain_errors(), _session() as session:
        endpoint = endpoints.own_endpoint(session, endpoint_id, accounts.find_user(session, user))
        listed = [attempt_resource(attempt, delivery)
                  for attempt, delivery in endpoints.list_attempts(session, endpoint)]
        emit({"endpoint_id": endpoint_id, "attempts": listed}, as_json,
             "\n".join(json.dumps(attempt, ensure_ascii=False) for attempt in listed)
             or f"no attempts yet for webhook endpoint {endpoint_id}")

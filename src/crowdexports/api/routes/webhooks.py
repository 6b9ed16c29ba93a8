"""Webhook endpoint endpoints (issue 17): an owner's URLs told when their exports finish. Access checks are
dependencies (api/permissions.py); the work is webhooks.endpoints'."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from crowdexports.api.authentication import CallerDep
from crowdexports.api.bodies import JsonObject
from crowdexports.api.database import SessionDep
from crowdexports.api.openapi import answers
from crowdexports.api.permissions import OwnWebhookEndpoint, WritableWebhookEndpoint, Writer
from crowdexports.api.schemas import (
    WebhookAttemptList,
    WebhookEndpointBody,
    WebhookEndpointCreated,
    WebhookEndpointList,
    WebhookEndpointOut,
)
from crowdexports.api.state import RuntimeDep
from crowdexports.webhooks import endpoints
from crowdexports.webhooks.resources import attempt_resource, endpoint_resource

router = APIRouter(prefix="/v1", tags=["webhooks"])
BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": WebhookEndpointBody.model_json_schema()}}}}


@router.get("/webhook-endpoints", response_model=WebhookEndpointList)
def list_webhook_endpoints(caller: CallerDep, session: SessionDep) -> dict[str, Any]:
    """Your webhook endpoints (each user sees only their own)."""
    return {"webhook_endpoints": [endpoint_resource(endpoint)
                                  for endpoint in endpoints.list_endpoints(session, caller.user)]}


@router.post("/webhook-endpoints", status_code=201, response_model=WebhookEndpointCreated, openapi_extra=BODY)
@answers(400, 409)  # the body's values; the cap of endpoints reached
def create_webhook_endpoint(caller: Writer, payload: JsonObject, runtime: RuntimeDep, session: SessionDep,
                            response: Response) -> dict[str, Any]:
    """Register a URL told when your exports finish, with a Bearer token; the answer shows its secret once."""
    settings = runtime.settings
    endpoint = endpoints.create_endpoint(session, payload, caller.user,
                                         allow_private=settings.webhooks_allow_private_addresses,
                                         most=settings.max_webhook_endpoints_per_owner)
    response.headers["Location"] = f"/v1/webhook-endpoints/{endpoint.id}"
    return {**endpoint_resource(endpoint), "secret": endpoint.secret}


@router.get("/webhook-endpoints/{endpoint_id}", response_model=WebhookEndpointOut)
def show_webhook_endpoint(endpoint: OwnWebhookEndpoint) -> dict[str, Any]:
    """One of your webhook endpoints; anyone else's does not exist for you."""
    return endpoint_resource(endpoint)


@router.delete("/webhook-endpoints/{endpoint_id}", status_code=204, response_class=Response)
def delete_webhook_endpoint(endpoint: WritableWebhookEndpoint, session: SessionDep) -> Response:
    """Delete an endpoint, its deliveries and their attempts: nothing more is sent to it."""
    endpoints.delete_endpoint(session, endpoint)
    return Response(status_code=204)


@router.get("/webhook-endpoints/{endpoint_id}/attempts", response_model=WebhookAttemptList)
def list_webhook_attempts(endpoint: OwnWebhookEndpoint, session: SessionDep) -> dict[str, Any]:
    """The endpoint's latest delivery attempts, newest first: what was sent, when, and what came back."""
    return {"attempts": [attempt_resource(attempt, delivery)
                         for attempt, delivery in endpoints.list_attempts(session, endpoint)]}

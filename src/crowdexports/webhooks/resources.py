"""An endpoint and an attempt as the API, the CLI and the page show them: one shape for all three."""

from __future__ import annotations

from typing import Any

from crowdexports.exports.timestamps import rfc3339
from crowdexports.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


def endpoint_resource(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """The endpoint without its secret, which is shown once, when it is made."""
    return {"id": endpoint.id, "url": endpoint.url, "events": endpoint.events, "project_id": endpoint.project_id,
            "enabled": endpoint.disabled_at is None, "disabled_at": rfc3339(endpoint.disabled_at),
            "disabled_reason": endpoint.disabled_reason, "created_at": rfc3339(endpoint.created_at)}


def attempt_resource(attempt: WebhookAttempt, delivery: WebhookDelivery) -> dict[str, Any]:
    return {"id": attempt.id, "delivery_id": delivery.id, "export_id": delivery.export_id, "event": delivery.event,
            "event_id": delivery.event_id, "number": attempt.number, "started_at": rfc3339(attempt.started_at),
            "duration_ms": attempt.duration_ms, "status_code": attempt.status_code, "error": attempt.error,
            "outcome": attempt.outcome}

"""The body of `POST /v1/webhook-endpoints` (issue 17): a URL, the events it is told of, and optionally
the one project it is about (absent or null: every project of its owner's, now and later)."""

from __future__ import annotations

from urllib.parse import urlsplit

from crowdexports.models import WebhookEndpoint
from crowdexports.rules.kinds import Body, Choices, Integer, Text
from crowdexports.webhooks.rules import EVENTS


def is_webhook_url(value: str) -> bool:
    """http or https, a host, no credentials (the URL is listed to its owner and logged) nor fragment; in
    printable ASCII without spaces, as RFC 3986 writes a URL: an invisible or look-alike character could
    hide where the data goes."""
    if not (value.isascii() and value.isprintable()) or " " in value:
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  # raises ValueError on a port out of range or not a number
    except ValueError:
        return False
    return (parts.scheme in ("http", "https") and bool(parts.hostname) and parts.username is None
            and parts.password is None and not parts.fragment)


URL = Text.column(WebhookEndpoint, "url", required=True, check=is_webhook_url,
                  rule="must be an http or https URL with a host, and no user, password or fragment, in ASCII "
                  "(percent-encode other characters; write names in punycode)")
EVENTS_FIELD = Choices("events", EVENTS)
PROJECT = Integer("project_id", rule="must be a project's id", required=False)

ENDPOINT = Body((URL, EVENTS_FIELD, PROJECT), read_only=("id", "secret", "created_at", "disabled_at", "disabled_reason",
                                                   "failing_since", "enabled"))

"""The Standard Webhooks headers of a delivery (https://www.standardwebhooks.com), made by the reference
library `standardwebhooks`, so that receivers verify them with any of its libraries."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the specification asks for 24 to 64


def new_secret() -> str:
    """A secret as the specification writes it: `whsec_` and base64 of random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def headers(secret: str, event_id: str, at: datetime, body: bytes) -> dict[str, str]:
    """The headers that sign `body`: its id (the same on every attempt), the time of this attempt and the
    signature of both with the body."""
    return {"webhook-id": event_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(secret).sign(event_id, at, body)}

"""The email an endpoint's owner gets when it is disabled (after rules.DISABLE_AFTER of failures): once,
since one record only can disable it (deliveries.record), in the owner's language, naming the URL, the
reason and how to register it again. At most once: a mail error is logged, not retried (the endpoint's
`disabled_reason` still tells the owner in the API)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from crowdexports.errors import PermanentMailError, TransientMailError
from crowdexports.exports.emailing import message_domain
from crowdexports.mail.compose import compose_webhook_disabled
from crowdexports.models import User, WebhookEndpoint
from crowdexports.rules.users import display_name
from crowdexports.webhooks import rules

if TYPE_CHECKING:  # runtime.py wires these modules together, so they may not import it
    from crowdexports.runtime import Runtime

logger = logging.getLogger(__name__)


def endpoint_disabled(runtime: Runtime, endpoint: WebhookEndpoint, owner: User, last_failure: str) -> None:
    """Tell `owner` that `endpoint` was just disabled, its last attempt having failed with `last_failure`."""
    settings = runtime.settings
    message = compose_webhook_disabled(
        endpoint_id=endpoint.id, to=owner.email, to_name=display_name(owner.name, owner.first_name, owner.last_name),
        lang=owner.lang, url=endpoint.url, days=rules.DISABLE_AFTER.days, last_failure=last_failure,
        docs_url=f"{settings.public_url.rstrip('/')}/docs", mail_from=settings.mail_from,
        message_domain=message_domain(settings.public_url))
    try:
        runtime.mailer.send(message)
    except (TransientMailError, PermanentMailError) as exc:
        logger.warning("webhook endpoint %s disabled; its owner could not be emailed: %s", endpoint.id, exc)

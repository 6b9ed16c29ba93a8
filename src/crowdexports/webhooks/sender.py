"""The webhook sender: a thread in each worker process (beside the sweep: `serve` and `worker` both run
it) that claims due deliveries and sends each on a thread of its own, at most `webhook_concurrency` at
once. Apart from the export queue on purpose: exports and emails run on Huey's threads and never wait on
a receiver, and a flood of hanging receivers fills these slots only (docs/decisions.md "Webhooks").

A slot is taken before a delivery is claimed, so a claimed delivery is always being sent; a process
killed mid-attempt leaves its claims to lapse, and another worker sends them again with the same id.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from crowdexports.models import User, WebhookDelivery, WebhookEndpoint, utcnow
from crowdexports.webhooks import deliveries, notices, payloads, rules, sending, signing

if TYPE_CHECKING:  # runtime.py wires these modules together, so they may not import it
    from crowdexports.runtime import Runtime

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.5  # how soon a new event is sent; an idle poll is one indexed SELECT
CANDIDATES = 20  # due deliveries read per poll: enough that other workers' claims rarely leave none


class Sender(threading.Thread):
    def __init__(self, runtime: Runtime) -> None:
        super().__init__(name="webhook-sender", daemon=True)
        self.runtime = runtime
        self.stopped = threading.Event()
        self._slots = threading.BoundedSemaphore(runtime.settings.webhook_concurrency)

    def run(self) -> None:
        while not self.stopped.is_set():
            if not self._slots.acquire(timeout=POLL_SECONDS):
                continue  # every slot is sending
            try:
                claimed = self._claim()
            except Exception:
                logger.exception("webhook sender: claiming failed; trying again next poll")
                claimed = None
            if claimed is None:
                self._slots.release()
                self.stopped.wait(POLL_SECONDS)
                continue
            threading.Thread(target=self._send, args=(claimed,), name=f"webhook-{claimed.id}", daemon=True).start()

    def _claim(self) -> WebhookDelivery | None:
        """One due delivery, leased to this process for the time of an attempt."""
        settings = self.runtime.settings
        lease = deliveries.lease_for(settings.webhook_timeout_seconds)
        with self.runtime.sessions() as session:
            now = utcnow()
            for delivery_id in deliveries.due(session, now, CANDIDATES):
                delivery = deliveries.claim(session, delivery_id, now, lease)
                if delivery is not None:
                    return delivery
        return None

    def _send(self, delivery: WebhookDelivery) -> None:
        try:
            attempt(self.runtime, delivery)
        except Exception:  # the database went away: the lease lapses and the delivery is attempted again
            logger.exception("webhook delivery %s: the attempt could not be made or recorded", delivery.id)
        finally:
            self._slots.release()


def attempt(runtime: Runtime, claimed: WebhookDelivery) -> deliveries.Recorded | None:
    """One attempt of a claimed delivery: its body read and signed, one POST (no database connection held
    meanwhile), the answer recorded; the owner emailed if this attempt disabled the endpoint."""
    settings = runtime.settings
    with runtime.sessions() as session:
        delivery = session.merge(claimed, load=False)  # as claimed: its attempt number fences the record
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
        if endpoint is None:  # deleted since the claim, with its deliveries
            return None
        owner = session.get_one(User, endpoint.user_id)
        body = payloads.body(session, delivery, owner, settings)
        session.commit()  # ends the read: the POST may take the whole timeout
        started_at = utcnow()
        headers = signing.headers(endpoint.secret, delivery.event_id, started_at, body)
        answer = sending.post(endpoint.url, body, headers, allow_private=settings.webhooks_allow_private_addresses,
                              timeout=settings.webhook_timeout_seconds)
        recorded = deliveries.record(session, delivery, answer, started_at, utcnow(),
                                     rules.schedule(settings.webhook_first_retry_seconds))
        logger.info("webhook delivery %s (%s) attempt %s: %s", delivery.id, delivery.event_id, delivery.attempts,
                    "recorded by another worker" if recorded is None else recorded.outcome)
        if recorded is not None and recorded.disabled:
            notices.endpoint_disabled(runtime, endpoint, owner, deliveries.last_failure(answer))
    return recorded

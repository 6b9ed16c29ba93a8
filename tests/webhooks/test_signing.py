"""Deliveries are signed as Standard Webhooks says: the reference library's verifier accepts them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from crowdexports.webhooks import signing


def test_a_signed_body_verifies_with_the_reference_library() -> None:
    secret, body, now = signing.new_secret(), b'{"id": 7, "status": "succeeded"}', datetime.now(UTC)
    headers = signing.headers(secret, "msg_export_7_succeeded", now, body)
    assert headers["webhook-id"] == "msg_export_7_succeeded"
    assert Webhook(secret).verify(body, headers) == {"id": 7, "status": "succeeded"}


def test_another_secret_or_a_changed_body_does_not_verify() -> None:
    secret, body, now = signing.new_secret(), b'{"id": 7}', datetime.now(UTC)
    headers = signing.headers(secret, "msg_export_7_succeeded", now, body)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"id": 8}', headers)


def test_secrets_are_whsec_and_random() -> None:
    first, second = signing.new_secret(), signing.new_secret()
    assert first.startswith("whsec_") and first != second

"""Export emails with realistic defaults, for tests that need a message to send."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from crowdexports.mail.compose import compose_failed, compose_succeeded

LINK = "https://exports.example.test/v1/exports/42/download?expires=1750428330&signature=ab12"
EXPIRES = datetime(2025, 6, 20, 14, 5, 30, tzinfo=UTC)
SHA256 = "5994471abb01112afcc18159f6cc74b4f511b99806da59b3caf5a9c173cacfc5"


def succeeded_message(**overrides: Any) -> EmailMessage:
    """The success email of export 42 (a small csv attached), with any argument overridden."""
    args: dict[str, Any] = {
        "export_id": 42, "to": "owner@example.test", "to_name": "Zoé Owner", "lang": "en",
        "project_name": "Solar Kettle", "format_": "csv", "row_count": 1234, "link": LINK,
        "expires_at": EXPIRES, "timezone": "Europe/Paris", "file_name": "Solar Kettle_orders_2025-06-13.csv",
        "mime_type": "text/csv", "sha256": SHA256, "attachment": b"a,b\r\n1,2\r\n",
        "mail_from": "Crowd Exports <exports@example.test>", "message_domain": "example.test",
    }
    return compose_succeeded(**{**args, **overrides})


def failed_message(**overrides: Any) -> EmailMessage:
    """The failure email of export 42, with any argument overridden."""
    args: dict[str, Any] = {
        "export_id": 42, "to": "owner@example.test", "to_name": "Zoé Owner", "lang": "en",
        "project_name": "Solar Kettle", "format_": "xlsx", "error": "the project has too many rows for xlsx",
        "mail_from": "exports@example.test", "message_domain": "example.test",
    }
    return compose_failed(**{**args, **overrides})

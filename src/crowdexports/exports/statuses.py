"""The values an export row's `status` and `email_status` take: stored as these strings and answered
as they are by the API. The transitions between them are exports.lifecycle's."""

from __future__ import annotations

from enum import StrEnum


class ExportStatus(StrEnum):
    WAITING = "waiting"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


class EmailStatus(StrEnum):
    NONE = "none"  # the export is not finished: nothing to send yet
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"  # the SMTP exchange was cut: maybe delivered, so never sent again

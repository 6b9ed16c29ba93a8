"""The one email an export earns: the file (or its link) when it succeeded, a notice when it failed.

Exactly once: `lifecycle.begin_email` hands the right to send to one caller; a transient error puts
it back with a delay; an answer that may mean "delivered" is recorded and never retried.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from enum import StrEnum
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from crowdexports.errors import PermanentMailError, TransientMailError
from crowdexports.exports import failures, lifecycle
from crowdexports.exports.download_links import download_url
from crowdexports.exports.requests import changes_since_of, filters_of, layout_of
from crowdexports.exports.statuses import ExportStatus
from crowdexports.exports.writers import get_writer
from crowdexports.logs import export_context
from crowdexports.mail.compose import attachment_fits, compose_failed, compose_succeeded
from crowdexports.models import Export, Project, User
from crowdexports.rules.users import display_name

if TYPE_CHECKING:  # runtime.py wires these modules together, so they may not import it
    from crowdexports.runtime import Runtime

logger = logging.getLogger(__name__)


class EmailOutcome(StrEnum):
    NOT_DUE = "not-due"
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    UNKNOWN = "unknown"


def message_domain(public_url: str) -> str:
    """The Message-ID domain: PUBLIC_URL's host name, or `localhost` when it is an IP address or absent."""
    host = urlsplit(public_url).hostname or ""
    return host if host and not host.replace(".", "").isdigit() and ":" not in host else "localhost"


def _compose(runtime: Runtime, export: Export, project: Project, recipient: User) -> EmailMessage:
    settings = runtime.settings
    to_name = display_name(recipient.name, recipient.first_name, recipient.last_name)
    domain = message_domain(settings.public_url)
    if export.status == ExportStatus.FAILED:
        return compose_failed(
            export_id=export.id, to=recipient.email, to_name=to_name, lang=recipient.lang,
            project_name=project.name, format_=export.format,
            error=failures.in_language(export.error or "unknown error", recipient.lang),
            mail_from=settings.mail_from, message_domain=domain, filters=filters_of(export.options),
            changes_since=changes_since_of(export.options),
        )
    assert export.storage_key and export.file_name and export.expires_at and export.size is not None
    attachment = None
    if attachment_fits(export.size, settings.max_attachment_bytes):
        with runtime.storage.open(export.storage_key) as stored:
            attachment = stored.read()
    return compose_succeeded(
        export_id=export.id, to=recipient.email, to_name=to_name, lang=recipient.lang,
        project_name=project.name, format_=export.format, row_count=export.row_count or 0,
        link=download_url(export, settings) or "", expires_at=export.expires_at, timezone=project.timezone,
        file_name=export.file_name, mime_type=get_writer(export.format).mime_type, sha256=export.sha256,
        attachment=attachment, mail_from=settings.mail_from, message_domain=domain, filters=filters_of(export.options),
        changes_since=changes_since_of(export.options), layout=layout_of(export.options), summary=export.summary,
    )


def deliver_email(runtime: Runtime, export_id: int) -> tuple[EmailOutcome, float]:
    """Send the export's email if it is due; returns the outcome and, for RETRY, the delay in seconds."""
    with export_context(export_id):
        return _deliver_email(runtime, export_id)


def _deliver_email(runtime: Runtime, export_id: int) -> tuple[EmailOutcome, float]:
    settings = runtime.settings
    with runtime.sessions() as session:
        export = lifecycle.begin_email(session, export_id, lease_seconds=settings.lease_seconds * 4)
        if export is None:
            return EmailOutcome.NOT_DUE, 0.0
        try:
            message = _compose(runtime, export, session.get_one(Project, export.project_id),
                               session.get_one(User, export.user_id))
            runtime.mailer.send(message)
        except TransientMailError as exc:
            if exc.maybe_delivered:
                lifecycle.email_unknown(session, export_id, str(exc))
                return EmailOutcome.UNKNOWN, 0.0
            if export.email_attempts > settings.email_retries:
                lifecycle.email_failed(session, export_id, f"gave up after {export.email_attempts} attempts: {exc}")
                return EmailOutcome.FAILED, 0.0
            delay = settings.email_backoff_seconds * 2 ** (export.email_attempts - 1)
            lifecycle.email_retry_later(session, export_id, str(exc), delay_seconds=delay)
            logger.warning("export %s: email attempt %s failed, retry in %.1fs: %s", export_id,
                           export.email_attempts, delay, exc)
            return EmailOutcome.RETRY, delay
        except PermanentMailError as exc:
            lifecycle.email_failed(session, export_id, str(exc))
            return EmailOutcome.FAILED, 0.0
        except Exception as exc:  # a bug or a vanished file: record it rather than leave it "sending"
            logger.exception("export %s: email could not be made", export_id)
            lifecycle.email_failed(session, export_id, f"{type(exc).__name__}: {exc}")
            return EmailOutcome.FAILED, 0.0
        lifecycle.email_sent(session, export_id)
        return EmailOutcome.SENT, 0.0

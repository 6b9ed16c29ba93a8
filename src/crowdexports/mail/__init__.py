"""Pick the mailer from SMTP_URL: unset → `.eml` files in the outbox folder, else an SMTP server."""

from __future__ import annotations

from pathlib import Path

from crowdexports.mail.base import Mailer
from crowdexports.mail.outbox import OutboxMailer
from crowdexports.mail.smtp import SmtpMailer


def from_url(smtp_url: str | None, outbox_dir: Path) -> Mailer:
    """OutboxMailer if `smtp_url` is unset; SmtpMailer for smtp:// and smtps:// (else ValueError)."""
    if not smtp_url:
        return OutboxMailer(outbox_dir)
    return SmtpMailer(smtp_url)

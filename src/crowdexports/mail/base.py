"""How an email leaves: a Mailer sends one message. Chosen from SMTP_URL by `mail.from_url`."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Protocol


class Mailer(Protocol):
    # True when sending the same message twice still delivers it once (the outbox names files by
    # Message-ID); then a worker that died mid-send may simply send again.
    resend_is_safe: bool

    def send(self, message: EmailMessage) -> None:
        """Deliver or raise errors.TransientMailError / errors.PermanentMailError."""
        ...

"""Sending through an SMTP server, with every failure sorted into "try again" or "give up".

URLs (SMTP_URL):
- `smtp://[user:pass@]host[:port]` — plain SMTP, port 25 by default. Add `?starttls=1` to require
  STARTTLS (the usual submission setup: `smtp://user:pass@relay:587?starttls=1`); the send then fails
  permanently if the server does not offer it. Without it the connection, and any password, is in
  clear text: keep that for a relay on the same host or network.
- `smtps://[user:pass@]host[:port]` — TLS from the first byte, port 465 by default.
TLS certificates are verified against the system's trust store (SSL_CERT_FILE / SSL_CERT_DIR apply).
User and password are percent-decoded, so `p%40ss` is the password `p@ss`.

Errors (RFC 5321 §4.2.1): refused, timed-out or dropped connections and 4yz replies raise
TransientMailError; 5yz replies (550, 552, 553, 554, 535 bad credentials) and a server lacking a
required feature (STARTTLS, AUTH, SMTPUTF8) raise PermanentMailError. SMTP cannot deduplicate, so the
send is done step by step rather than with `sendmail`: once the whole body and its final "." have
gone out, a lost connection or unreadable reply means the server may have accepted the message, and
the TransientMailError says `maybe_delivered=True` so the caller does not send it twice.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import getaddresses
from urllib.parse import parse_qsl, unquote, urlsplit

from crowdexports.errors import PermanentMailError, TransientMailError

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _reply_error(stage: str, code: int, text: bytes, *, body_sent: bool = False) -> Exception:
    """The error for an unwanted reply `code` to `stage`; 4yz transient, 5yz permanent."""
    detail = f"SMTP server refused {stage}: {code} {text.decode('utf-8', 'replace')}"
    if 500 <= code <= 599:
        return PermanentMailError(detail)
    if 400 <= code <= 499:
        return TransientMailError(detail)
    # Not a reply SMTP allows here: after the body we cannot tell whether the message was taken.
    return TransientMailError(f"unexpected reply to {stage}: {code} {text.decode('utf-8', 'replace')}",
                              maybe_delivered=body_sent)


def _expect(reply: tuple[int, bytes], stage: str, *codes: int, body_sent: bool = False) -> None:
    code, text = reply
    if code not in codes:
        raise _reply_error(stage, code, text, body_sent=body_sent)


def _envelope(message: EmailMessage) -> tuple[str, list[str], bytes, list[str]]:
    """(sender, recipients, wire bytes, MAIL options), as `smtplib.SMTP.send_message` derives them."""
    if "Bcc" in message:  # it would go out in the headers for every recipient to read
        raise ValueError("Bcc is not supported; send a separate message")
    sender_header = message["Sender"] or message["From"]
    senders = getaddresses([str(sender_header)]) if sender_header else []
    recipients = [addr for _, addr in getaddresses([str(v) for v in message.get_all("To", [])
                                                    + message.get_all("Cc", [])]) if addr]
    if not senders or not senders[0][1] or not recipients:
        raise ValueError("the message needs a From address and at least one recipient")
    sender = senders[0][1]
    international = not "".join([sender, *recipients]).isascii()
    data = message.as_bytes(policy=SMTPUTF8 if international else SMTP)
    return sender, recipients, data, (["SMTPUTF8", "BODY=8BITMIME"] if international else [])


def _data_payload(data: bytes) -> bytes:
    """The DATA body: lines starting with "." doubled (RFC 5321 §4.5.2), then the lone "." line."""
    stuffed = re.sub(rb"(?m)^\.", b"..", data)
    if not stuffed.endswith(b"\r\n"):
        stuffed += b"\r\n"
    return stuffed + b".\r\n"


class SmtpMailer:
    # The server may have taken a message whose reply was lost; sending again could duplicate it.
    resend_is_safe = False

    def __init__(self, url: str, timeout: float = 30) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://user:pass@host:port or smtps://host")
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.implicit_tls else 25)
        self.username = unquote(parts.username) if parts.username is not None else None
        self.password = unquote(parts.password or "")
        self.timeout = timeout
        self.starttls = False
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            if name != "starttls" or value.lower() not in _TRUE + _FALSE:
                raise ValueError(f"unknown SMTP_URL option {name}={value!r}; only starttls=1|0 is known")
            self.starttls = value.lower() in _TRUE
        if self.starttls and self.implicit_tls:
            raise ValueError("starttls=1 makes no sense with smtps://, which is TLS from the start")

    def __repr__(self) -> str:  # never shows the password
        return f"SmtpMailer({'smtps' if self.implicit_tls else 'smtp'}://{self.host}:{self.port})"

    def _connect(self) -> smtplib.SMTP:
        """An open, greeted (and, as configured, encrypted and logged-in) session."""
        client: smtplib.SMTP
        if self.implicit_tls:
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            client.ehlo_or_helo_if_needed()
            if self.starttls:
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if self.username is not None:
                client.login(self.username, self.password)
        except BaseException:
            client.close()
            raise
        return client

    def send(self, message: EmailMessage) -> None:
        sender, recipients, data, mail_options = _envelope(message)
        body_sent = False
        try:
            client = self._connect()
            try:
                if client.has_extn("size"):
                    mail_options.append(f"SIZE={len(data)}")
                _expect(client.mail(sender, mail_options), "MAIL FROM", 250)
                for recipient in recipients:
                    _expect(client.rcpt(recipient), f"RCPT TO <{recipient}>", 250, 251)
                _expect(client.docmd("DATA"), "DATA", 354)
                client.send(_data_payload(data))
                body_sent = True
                _expect(client.getreply(), "the message", 250, body_sent=True)
            finally:
                _quit_quietly(client)
        except (PermanentMailError, TransientMailError):
            raise
        except smtplib.SMTPResponseException as exc:  # greeting, EHLO, STARTTLS, AUTH replies
            stage = "the login" if isinstance(exc, smtplib.SMTPAuthenticationError) else "the connection"
            raise _reply_error(stage, exc.smtp_code, _as_bytes(exc.smtp_error)) from exc
        except smtplib.SMTPServerDisconnected as exc:
            raise self._lost(exc, body_sent) from exc
        except smtplib.SMTPException as exc:  # a feature we need is missing: configuration, not luck
            raise PermanentMailError(f"SMTP server {self.host}:{self.port}: {exc}") from exc
        except OSError as exc:  # refused, unreachable, timed out, TLS failure
            raise self._lost(exc, body_sent) from exc

    def _lost(self, exc: Exception, body_sent: bool) -> TransientMailError:
        if body_sent:
            return TransientMailError(
                f"connection to {self.host}:{self.port} lost after the whole message was sent, before the "
                f"server's answer; it may have been delivered ({exc})", maybe_delivered=True)
        return TransientMailError(f"cannot talk to SMTP server {self.host}:{self.port}: {exc}")


def _as_bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "replace")


def _quit_quietly(client: smtplib.SMTP) -> None:
    """Say goodbye if the line is still up; the outcome is already decided."""
    try:
        if client.sock is not None:
            client.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        client.close()

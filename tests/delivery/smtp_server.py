"""A real SMTP server (aiosmtpd) on 127.0.0.1 for tests, scripted to fail the way real servers do.

    from tests.delivery.smtp_server import smtp_server, DROP_AFTER_BODY

    with smtp_server(reply_sequence=("421 4.3.2 Try later",)) as server:
        mailer = SmtpMailer(server.url, timeout=2)
        ...
        server.messages      # list[Delivered] accepted so far, in order
        server.attempts      # mail transactions started (one per MAIL FROM, i.e. per send attempt)
        server.wait_for(1)   # block (default 5 s) until 1 message was delivered; returns server.messages

`smtp_server(reply_sequence=(), *, auth=None, tls=None)` yields an `SmtpTestServer`:
- `url`: `smtp://127.0.0.1:<port>` (`smtp://user:pass@…` with `auth`, `?starttls=1` with tls="starttls",
  `smtps://…` with tls="implicit"); `host`, `port`.
- `messages`: `Delivered(mail_from, rcpt_tos, data)` for every accepted message; `data` is the message
  exactly as received (dot-unstuffed); `.message` parses it (email.policy.default).
- `unanswered`: messages received in full and then never answered (`BODY:drop`, `BODY:hang`).
- `cafile`: with `tls`, the self-signed certificate to trust (set SSL_CERT_FILE to it in the test).

Each mail transaction (each MAIL FROM) takes the next entry of `reply_sequence`; once it is used up,
every transaction succeeds with 250. An entry is `"[STAGE:]ACTION"`:
- STAGE: `MAIL`, `RCPT`, `DATA` (the answer to the DATA command itself, instead of 354) or `BODY`
  (the answer after the whole message was received: the default).
- ACTION: an SMTP reply such as `"451 4.3.0 Try later"`; `drop`: close the connection without
  answering; `hang`: never answer (until the client gives up). `DATA:drop` answers 354, reads the
  first line of the body and then drops (the client is cut off mid-body); `BODY:drop` and `BODY:hang`
  act after the final "." (the ambiguous window).
Rejected, dropped or unanswered transactions are not in `messages`. `DATA:drop` is only sure to cut
the client off mid-body when the message is bigger than the socket buffers (use ≥ 12 MB).
`auth=("user", "p@ss")` requires AUTH with those credentials (over plain text: it is loopback; mark
such tests `@pytest.mark.filterwarnings("ignore:Requiring AUTH")`, aiosmtpd warns about it).
`tls="starttls"` requires STARTTLS; `tls="implicit"` speaks TLS from the first byte.
`free_port()` gives a port nobody listens on (for "connection refused").
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session, syntax

DROP_AFTER_BODY = "BODY:drop"
HANG_AFTER_BODY = "BODY:hang"
DROP_DURING_BODY = "DATA:drop"
STAGES = ("MAIL", "RCPT", "DATA", "BODY")


@dataclass(frozen=True)
class Delivered:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


@dataclass(frozen=True)
class _Plan:
    stage: str
    action: str  # an SMTP reply line, "drop" or "hang"


def _parse_plan(entry: str) -> _Plan:
    stage, sep, action = entry.partition(":")
    if sep and stage in STAGES:
        return _Plan(stage, action.strip())
    return _Plan("BODY", entry)


_ALL_GOOD = _Plan("BODY", "250 OK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _self_signed_cert(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key


class SmtpTestServer:
    def __init__(self, reply_sequence: Sequence[str], host: str, port: int, url: str,
                 cafile: Path | None) -> None:
        self._plans = [_parse_plan(entry) for entry in reply_sequence]
        self.host, self.port, self.url, self.cafile = host, port, url, cafile
        self.messages: list[Delivered] = []
        self.unanswered: list[Delivered] = []
        self.attempts = 0
        self._changed = threading.Condition()

    def next_plan(self) -> _Plan:
        with self._changed:
            self.attempts += 1
            return self._plans.pop(0) if self._plans else _ALL_GOOD

    def record(self, target: list[Delivered], envelope: Envelope) -> None:
        with self._changed:
            target.append(Delivered(str(envelope.mail_from), list(envelope.rcpt_tos),
                                    bytes(envelope.original_content or b"")))
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Delivered]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(f"expected {count} delivered message(s), got {len(self.messages)}")
            return list(self.messages)


async def _act(smtp: SMTP, action: str, *, reset: bool = False) -> str:
    """Return the scripted reply, or close / keep the line without answering.

    A handler that never returns is cancelled by aiosmtpd once the connection is gone.
    """
    if action not in ("drop", "hang"):
        return action
    # aiosmtpd declares a BaseTransport; over TCP it is an asyncio.Transport, which can abort.
    transport = cast(asyncio.Transport | None, smtp.transport)
    if action == "drop" and transport is not None:
        if reset:
            transport.abort()  # RST: the client's pending writes fail at once
        else:
            transport.close()
    unanswered: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    return await unanswered


class _Handler:
    def __init__(self, owner: SmtpTestServer) -> None:
        self.owner = owner

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          mail_options: list[str]) -> str:
        plan = self.owner.next_plan()
        session.plan = plan  # type: ignore[attr-defined]  # our own attribute on aiosmtpd's Session
        if plan.stage == "MAIL":
            return await _act(server, plan.action)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        plan: _Plan = session.plan  # type: ignore[attr-defined]  # our own attribute on aiosmtpd's Session
        if plan.stage == "RCPT":
            return await _act(server, plan.action)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        plan: _Plan = session.plan  # type: ignore[attr-defined]  # our own attribute on aiosmtpd's Session
        if plan.action in ("drop", "hang"):
            self.owner.record(self.owner.unanswered, envelope)
        elif plan.action.startswith("2"):
            self.owner.record(self.owner.messages, envelope)
        return await _act(server, plan.action)


class _ScriptedSMTP(SMTP):
    """aiosmtpd has no hook between the DATA command and the body: this adds the DATA stage."""

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        plan: _Plan | None = getattr(self.session, "plan", None)
        if plan is None or plan.stage != "DATA" or self.envelope is None or not self.envelope.rcpt_tos:
            await super().smtp_DATA(arg)
        elif plan.action == "drop":
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            await self._reader.readuntil(b"\r\n")
            await _act(self, "drop", reset=True)
        else:
            await self.push(await _act(self, plan.action))


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _ScriptedSMTP(self.handler, **self.SMTP_kwargs)


@contextmanager
def smtp_server(reply_sequence: Sequence[str] = (), *, auth: tuple[str, str] | None = None,
                tls: str | None = None) -> Iterator[SmtpTestServer]:
    host, port = "127.0.0.1", free_port()
    with tempfile.TemporaryDirectory() as tmp:
        kwargs: dict[str, Any] = {}
        cafile = None
        scheme, query = "smtp", ""
        if tls is not None:
            cafile, keyfile = _self_signed_cert(Path(tmp))
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cafile, keyfile)
            if tls == "starttls":
                kwargs.update(tls_context=context, require_starttls=True)
                query = "?starttls=1"
            elif tls == "implicit":
                kwargs["ssl_context"] = context
                scheme = "smtps"
            else:
                raise ValueError(f"tls must be 'starttls' or 'implicit', not {tls!r}")
        userinfo = ""
        if auth is not None:
            user, password = auth

            def authenticator(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                              auth_data: Any) -> AuthResult:
                ok = isinstance(auth_data, LoginPassword) and auth_data == (user.encode(), password.encode())
                return AuthResult(success=ok, handled=False)

            kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=False)
            userinfo = f"{quote(user, safe='')}:{quote(password, safe='')}@"
        url = f"{scheme}://{userinfo}{host}:{port}{query}"
        server = SmtpTestServer(reply_sequence, host, port, url, cafile)
        controller = _Controller(_Handler(server), hostname=host, port=port, ready_timeout=5, **kwargs)
        controller.start()
        try:
            yield server
        finally:
            controller.stop()

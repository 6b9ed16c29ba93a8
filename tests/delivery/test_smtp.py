"""SmtpMailer against a real aiosmtpd server on loopback, scripted to fail like real servers."""

from __future__ import annotations

import os
from email.message import EmailMessage
from email.policy import SMTP

import pytest

from crowdexports.errors import PermanentMailError, TransientMailError
from crowdexports.mail.smtp import SmtpMailer

from .messages import succeeded_message
from .smtp_server import DROP_AFTER_BODY, DROP_DURING_BODY, HANG_AFTER_BODY, free_port, smtp_server

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _xlsx_message(size: int = 300_000) -> tuple[EmailMessage, bytes]:
    data = os.urandom(size)
    message = succeeded_message(format_="xlsx", mime_type=XLSX, attachment=data, project_name="Été – 東京",
                                file_name="Été – 東京_orders_2025-06-13.xlsx")
    return message, data


def _code(reply: str) -> str:
    """"RCPT:550 No such user" → "550"."""
    return reply.split(":", 1)[-1][:3]


def test_the_delivered_message_is_the_composed_one() -> None:
    message, data = _xlsx_message()
    with smtp_server() as server:
        SmtpMailer(server.url, timeout=5).send(message)
        [delivered] = server.messages
    assert delivered.mail_from == "exports@example.test"
    assert delivered.rcpt_tos == ["owner@example.test"]
    assert delivered.data == message.as_bytes(policy=SMTP)  # byte for byte, dot-unstuffed by the server
    received = delivered.message
    assert received["Message-ID"] == "<export-42@example.test>"
    assert received["Subject"] == message["Subject"]
    [part] = list(received.iter_attachments())
    assert part.get_content_type() == XLSX
    assert part.get_filename() == "Été – 東京_orders_2025-06-13.xlsx"
    assert part.get_payload(decode=True) == data


def test_lines_starting_with_a_dot_arrive_intact() -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.test", "b@example.test", "dots"
    message.set_content(".\n..\n.leading dot\nend\n.", cte="7bit")
    with smtp_server() as server:
        SmtpMailer(server.url, timeout=5).send(message)
        [delivered] = server.messages
    assert delivered.data == message.as_bytes(policy=SMTP)
    assert delivered.message.get_content().replace("\r\n", "\n") == ".\n..\n.leading dot\nend\n.\n"


@pytest.mark.parametrize("reply", [
    "421 4.3.2 Service shutting down",
    "451 4.3.0 Local error in processing",
    "452 4.3.1 Insufficient system storage",
    "MAIL:451 4.7.1 Try again later",
    "RCPT:450 4.2.1 Mailbox busy",
    "RCPT:451 4.7.1 Greylisted, try again later",
    "DATA:451 4.3.0 Not now",
])
def test_4yz_replies_are_transient(reply: str) -> None:
    with smtp_server(reply_sequence=[reply]) as server:
        with pytest.raises(TransientMailError) as caught:
            SmtpMailer(server.url, timeout=5).send(succeeded_message())
        assert server.messages == []
    assert caught.value.maybe_delivered is False
    assert _code(reply) in str(caught.value)  # the reason names the server's reply


@pytest.mark.parametrize("reply", [
    "550 5.1.1 No such user",
    "552 5.3.4 Message size exceeds fixed maximum message size",
    "553 5.1.3 Bad destination mailbox address",
    "554 5.7.1 Message rejected as spam",
    "MAIL:553 5.1.7 Bad sender address",
    "RCPT:550 5.1.1 No such user",
    "DATA:554 5.5.1 No valid recipients",
])
def test_5yz_replies_are_permanent(reply: str) -> None:
    with smtp_server(reply_sequence=[reply]) as server:
        with pytest.raises(PermanentMailError) as caught:
            SmtpMailer(server.url, timeout=5).send(succeeded_message())
        assert server.messages == []
    assert _code(reply) in str(caught.value)  # the reason names the server's reply


def test_a_transient_failure_then_success_delivers_once() -> None:
    mailer_message = succeeded_message()
    with smtp_server(reply_sequence=["421 4.3.2 Try later"]) as server:
        mailer = SmtpMailer(server.url, timeout=5)
        with pytest.raises(TransientMailError):
            mailer.send(mailer_message)
        mailer.send(mailer_message)
        assert server.attempts == 2
        assert len(server.messages) == 1


def test_connection_refused_is_transient() -> None:
    with pytest.raises(TransientMailError) as caught:
        SmtpMailer(f"smtp://127.0.0.1:{free_port()}", timeout=2).send(succeeded_message())
    assert caught.value.maybe_delivered is False


@pytest.mark.parametrize("reply", ["MAIL:drop", "RCPT:drop"])
def test_a_drop_before_data_is_transient_and_not_delivered(reply: str) -> None:
    with smtp_server(reply_sequence=[reply]) as server:
        with pytest.raises(TransientMailError) as caught:
            SmtpMailer(server.url, timeout=5).send(succeeded_message())
    assert caught.value.maybe_delivered is False


def test_a_drop_in_the_middle_of_the_body_is_not_delivered() -> None:
    # Far larger than the socket buffers, so the cut is seen while the body is still being sent.
    message, _ = _xlsx_message(size=12 * 1024 * 1024)
    with smtp_server(reply_sequence=[DROP_DURING_BODY]) as server:
        with pytest.raises(TransientMailError) as caught:
            SmtpMailer(server.url, timeout=5).send(message)
        assert server.messages == [] and server.unanswered == []
    assert caught.value.maybe_delivered is False


@pytest.mark.parametrize("reply", [DROP_AFTER_BODY, HANG_AFTER_BODY])
def test_no_answer_after_the_whole_body_may_have_delivered(reply: str) -> None:
    message, data = _xlsx_message()
    with smtp_server(reply_sequence=[reply]) as server:
        with pytest.raises(TransientMailError) as caught:
            SmtpMailer(server.url, timeout=0.5).send(message)
        [unanswered] = server.unanswered  # the server did get all of it
        assert server.messages == []
    assert caught.value.maybe_delivered is True
    assert unanswered.data == message.as_bytes(policy=SMTP)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login_with_percent_encoded_credentials() -> None:
    with smtp_server(auth=("mailer", "p@ss:w/rd%")) as server:
        assert "p%40ss%3Aw%2Frd%25" in server.url
        SmtpMailer(server.url, timeout=5).send(succeeded_message())
        assert len(server.messages) == 1


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_wrong_credentials_are_permanent() -> None:
    with smtp_server(auth=("mailer", "right")) as server:
        url = server.url.replace(":right@", ":wrong@")
        with pytest.raises(PermanentMailError, match="535"):
            SmtpMailer(url, timeout=5).send(succeeded_message())
        assert server.messages == []


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
def test_tls(tls: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with smtp_server(tls=tls) as server:
        monkeypatch.setenv("SSL_CERT_FILE", str(server.cafile))
        assert server.url.startswith("smtps://" if tls == "implicit" else "smtp://")
        SmtpMailer(server.url, timeout=5).send(succeeded_message())
        assert len(server.messages) == 1


def test_required_starttls_missing_is_permanent() -> None:
    with smtp_server() as server:
        with pytest.raises(PermanentMailError, match="STARTTLS"):
            SmtpMailer(server.url + "?starttls=1", timeout=5).send(succeeded_message())
        assert server.messages == []


def test_url_parsing() -> None:
    mailer = SmtpMailer("smtp://user%40corp:p%40ss@relay.example.test:587?starttls=1")
    assert (mailer.host, mailer.port) == ("relay.example.test", 587)
    assert (mailer.username, mailer.password) == ("user@corp", "p@ss")
    assert mailer.starttls and not mailer.implicit_tls
    assert "p@ss" not in repr(mailer)
    assert SmtpMailer("smtp://relay.example.test").port == 25
    assert SmtpMailer("smtp://relay.example.test?starttls=0").starttls is False
    assert SmtpMailer("smtps://relay.example.test").port == 465
    for url in ("smtp://relay.example.test?tls=1", "smtps://relay.example.test?starttls=1",
                "smtp://relay.example.test?starttls=maybe", "http://relay.example.test", "smtp:///nohost"):
        with pytest.raises(ValueError):
            SmtpMailer(url)

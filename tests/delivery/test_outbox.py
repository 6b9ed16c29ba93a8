"""The outbox mailer: one .eml file per Message-ID, written atomically."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

from crowdexports.mail import from_url
from crowdexports.mail.outbox import OutboxMailer
from crowdexports.mail.smtp import SmtpMailer

from .messages import succeeded_message


def test_send_writes_the_message_as_an_eml_file(tmp_path: Path) -> None:
    mailer = OutboxMailer(tmp_path / "outbox")
    message = succeeded_message(attachment=b"id;name\r\n1;\xc3\xa9\r\n")
    mailer.send(message)

    path = tmp_path / "outbox" / "export-42.eml"
    raw = path.read_bytes()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # wire form: CRLF only
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Message-ID"] == "<export-42@example.test>"
    assert parsed["Subject"] == message["Subject"]
    [part] = list(parsed.iter_attachments())
    assert part.get_payload(decode=True) == b"id;name\r\n1;\xc3\xa9\r\n"


def test_sending_again_leaves_one_file_with_the_last_content(tmp_path: Path) -> None:
    mailer = OutboxMailer(tmp_path)
    mailer.send(succeeded_message(row_count=1))
    mailer.send(succeeded_message(row_count=2))
    mailer.send(succeeded_message(export_id=7))
    # One file per Message-ID, and no temp file left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export-42.eml", "export-7.eml"]
    assert b"2 rows" in (tmp_path / "export-42.eml").read_bytes()
    assert OutboxMailer.resend_is_safe is True


@pytest.mark.parametrize("message_id", [None, "<../../etc@x>", "<.hidden@example.test>",
                                        "<a/b@example.test>"])
def test_a_message_id_that_cannot_name_a_file_is_refused(tmp_path: Path, message_id: str | None) -> None:
    message = succeeded_message()
    del message["Message-ID"]
    if message_id is not None:
        message["Message-ID"] = message_id
    with pytest.raises(ValueError):
        OutboxMailer(tmp_path).send(message)
    assert list(tmp_path.iterdir()) == []


def test_from_url_picks_the_mailer(tmp_path: Path) -> None:
    outbox = from_url(None, tmp_path / "outbox")
    assert isinstance(outbox, OutboxMailer) and outbox.directory == tmp_path / "outbox"
    assert isinstance(from_url("", tmp_path), OutboxMailer)
    smtp = from_url("smtps://relay.example.test", tmp_path)
    assert isinstance(smtp, SmtpMailer) and smtp.port == 465 and smtp.resend_is_safe is False
    with pytest.raises(ValueError):
        from_url("http://relay.example.test", tmp_path)

"""The export emails, read back the way a mail client would parse them."""

from __future__ import annotations

import email
import email.policy
import html
import os
import re
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from crowdexports.mail.compose import attachment_fits
from tests.control_totals import SUMMARY, SUMMARY_LINES

from .messages import LINK, SHA256, failed_message, succeeded_message

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPECTED = {
    # 14:05 UTC, in the project's zone (Paris, summer time), as each language writes it.
    "en": {"rows": "1,234 rows", "expiry": "June 20, 2025, 4:05\u202fPM (Central European Time)",
           "attached": "is attached to this email",
           "linked": "too large to be attached", "again": "ask for a new export"},
    "fr": {"rows": "1\u202f234 lignes", "expiry": "20 juin 2025, 16:05 (heure d’Europe centrale)",
           "attached": "est joint à cet e-mail", "linked": "trop volumineux pour être joint",
           "again": "demander un nouvel export"},
}


def _parse(msg: EmailMessage) -> EmailMessage:
    raw = msg.as_bytes()
    assert raw.isascii()  # 7-bit clean: any relay takes it, with or without 8BITMIME
    return email.message_from_bytes(raw, policy=email.policy.default)


def _bodies(msg: EmailMessage) -> tuple[str, str]:
    text, html_part = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None and html_part is not None
    return text.get_content(), html_part.get_content()


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_success_email_tells_everything_in_the_owners_language(lang: str) -> None:
    msg = _parse(succeeded_message(lang=lang))
    text, html_body = _bodies(msg)
    expected = EXPECTED[lang]
    for body, link in ((text, LINK), (html_body, html.escape(LINK))):
        assert "Solar Kettle" in body
        assert "CSV" in body
        assert expected["rows"] in body
        assert link in body
        assert expected["expiry"] in body
        assert expected["attached"] in body
        assert "Zoé Owner" in body
        assert SHA256 in body
    assert "Solar Kettle" in msg["Subject"] and "CSV" in msg["Subject"]
    assert msg["Content-Language"] == lang
    assert msg["To"].addresses[0].addr_spec == "owner@example.test"
    assert msg["To"].addresses[0].display_name == "Zoé Owner"
    assert msg["Auto-Submitted"] == "auto-generated"


@pytest.mark.parametrize("lang, expected", [("de", "en"), ("", "en"), ("fr-CA", "fr"), ("FR_fr", "fr")])
def test_language_falls_back_to_english(lang: str, expected: str) -> None:
    text, _ = _bodies(_parse(succeeded_message(lang=lang)))
    assert EXPECTED[expected]["rows"] in text


@pytest.mark.parametrize("count, en, fr", [(0, "0 rows", "0 ligne"), (1, "1 row", "1 ligne"),
                                           (2, "2 rows", "2 lignes")])
def test_row_count_plurals(count: int, en: str, fr: str) -> None:
    assert f"ready: {en}." in _bodies(_parse(succeeded_message(row_count=count)))[0]
    assert f"prêt\u00a0: {fr}." in _bodies(_parse(succeeded_message(row_count=count, lang="fr")))[0]


@pytest.mark.parametrize("timezone, lang, expected", [
    ("UTC", "fr", "jusqu’au 1 août 2025, 09:00 (UTC)"),
    ("America/New_York", "en", "until August 1, 2025, 5:00\u202fAM (Eastern Time)"),
    ("Asia/Tokyo", "fr", "jusqu’au 1 août 2025, 18:00 (heure du Japon)"),
])
def test_expiry_is_in_the_projects_zone_and_the_readers_language(timezone: str, lang: str, expected: str) -> None:
    moment = datetime(2025, 8, 1, 9, 0, tzinfo=UTC)
    text, _ = _bodies(_parse(succeeded_message(lang=lang, expires_at=moment, timezone=timezone)))
    assert expected in text




@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_control_totals_are_in_both_bodies_in_the_owners_language(lang: str) -> None:
    text, html_body = _bodies(_parse(succeeded_message(lang=lang, summary=SUMMARY)))
    for body in (text, html.unescape(html_body)):
        positions = [body.find(line) for line in SUMMARY_LINES[lang]]
        assert -1 not in positions and positions == sorted(positions), (body, positions)


def test_an_export_made_before_control_totals_has_no_totals_line() -> None:
    text, html_body = _bodies(_parse(succeeded_message(summary=None)))
    assert "Control totals" not in text and "Control totals" not in html_body


def test_a_file_made_before_checksums_has_no_checksum_line() -> None:
    text, html_body = _bodies(_parse(succeeded_message(sha256=None)))
    assert "SHA-256" not in text and "SHA-256" not in html_body


@pytest.mark.parametrize("format_, mime_type, file_name", [
    ("csv", "text/csv", "Été – 東京 \"x\"_orders_2025-06-13.csv"),
    ("csv", "text/csv; charset=utf-8", "orders.csv"),
    ("xlsx", XLSX, "Solar Kettle_orders_2025-06-13.xlsx"),
])
def test_the_attachment_is_the_file_with_its_type_and_name(format_: str, mime_type: str,
                                                           file_name: str) -> None:
    data = os.urandom(100_000)
    msg = _parse(succeeded_message(format_=format_, mime_type=mime_type, file_name=file_name,
                                   attachment=data))
    assert msg.get_content_type() == "multipart/mixed"
    [part] = list(msg.iter_attachments())
    assert part.get_content_type() == mime_type.split(";")[0]
    assert part.get_payload(decode=True) == data
    expected_name = file_name.replace('"', "_")  # quotes are not kept in file names
    assert part.get_filename() == expected_name
    if format_ == "csv":
        assert part.get_param("charset") == "utf-8"
    assert ("Excel (XLSX)" if format_ == "xlsx" else "CSV") in _bodies(msg)[0]


def test_unicode_names_survive_the_round_trip() -> None:
    project = "Été – 東京 🚀 «quoted»"
    file_name = "Été – 東京 🚀_orders_2025-06-13.csv"
    msg = _parse(succeeded_message(project_name=project, file_name=file_name, lang="fr"))
    assert project in msg["Subject"]
    assert project in _bodies(msg)[0]
    [part] = list(msg.iter_attachments())
    assert part.get_filename() == file_name
    # RFC 2231 (possibly split into continuations), not a raw 8-bit or RFC 2047 name.
    assert re.search(rb"filename\*(0\*)?=utf-8''", succeeded_message(file_name=file_name).as_bytes())


def test_above_the_limit_there_is_only_the_link() -> None:
    for lang in ("en", "fr"):
        msg = _parse(succeeded_message(lang=lang, attachment=None))
        assert list(msg.iter_attachments()) == []
        assert msg.get_content_type() == "multipart/alternative"
        text, html_body = _bodies(msg)
        for body in (text, html_body):
            assert EXPECTED[lang]["linked"] in body
            assert EXPECTED[lang]["attached"] not in body
        assert LINK in text


def test_attachment_limit_boundary() -> None:
    limit = 10 * 1024 * 1024
    assert attachment_fits(limit - 1, limit)
    assert attachment_fits(limit, limit)  # exactly at the limit still attaches
    assert not attachment_fits(limit + 1, limit)
    assert not attachment_fits(1, 0)  # 0 turns attachments off


def test_html_is_escaped_and_text_is_not() -> None:
    msg = _parse(succeeded_message(project_name="<script>alert(1)</script> & Co"))
    text, html_body = _bodies(msg)
    assert "<script>" not in html_body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html_body
    assert "<script>alert(1)</script> & Co" in text


def test_a_newline_in_the_project_name_cannot_add_headers() -> None:
    msg = _parse(succeeded_message(project_name="Kettle\r\nBcc: victim@example.test"))
    assert msg["Bcc"] is None
    assert "\n" not in msg["Subject"] and "Kettle Bcc: victim@example.test" in msg["Subject"]


def test_message_id_is_stable_per_export() -> None:
    first, again = succeeded_message(), succeeded_message(attachment=None)
    other = succeeded_message(export_id=43)
    assert first["Message-ID"] == again["Message-ID"] == "<export-42@example.test>"
    assert other["Message-ID"] == "<export-43@example.test>"
    assert failed_message()["Message-ID"] == "<export-42@example.test>"  # an export ends one way only
    with pytest.raises(ValueError):
        succeeded_message(message_domain="bad domain>")


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_failure_email_gives_the_reason_and_the_way_out(lang: str) -> None:
    msg = _parse(failed_message(lang=lang, project_name="Été 東京"))
    assert "Été 東京" in msg["Subject"]
    assert list(msg.iter_attachments()) == []
    for body in _bodies(msg):
        assert "Été 東京" in body
        assert "the project has too many rows for xlsx" in body
        assert "Excel (XLSX)" in body
        assert EXPECTED[lang]["again"] in body
        assert "42" in body
    assert ("could not be made" if lang == "en" else "n’a pas pu être réalisé") in msg["Subject"]


def test_failure_reason_is_escaped_in_html() -> None:
    _, html_body = _bodies(_parse(failed_message(error="bad <value> & more")))
    assert "bad &lt;value&gt; &amp; more" in html_body

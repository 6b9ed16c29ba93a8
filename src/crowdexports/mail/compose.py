"""The two emails an export can end with, the one a schedule's refused slot sends, and the notice of a
webhook endpoint disabled, in the recipient's language (en, fr; English otherwise).

Each export ends either succeeded or failed, so it gets at most one email, and that email has one
stable Message-ID, `<export-{id}@{message_domain}>`: the outbox names its file after it and a
receiving system can spot a duplicate. Text parts are quoted-printable and headers RFC 2047/2231
encoded, so the message is 7-bit clean for any SMTP relay.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_datetime_format, get_timezone_name
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from crowdexports.exports.filter_words import describe_changes, describe_filters
from crowdexports.exports.layout_words import describe_layout
from crowdexports.exports.summary import Summary
from crowdexports.exports.summary_words import summary_lines

LANGS = ("en", "fr")
FORMAT_LABELS = {"csv": "CSV", "xlsx": "Excel (XLSX)"}
_UNSAFE_FILE_CHARS = re.compile(r'[\x00-\x1f\x7f/\\"]')

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False, default=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def attachment_fits(size: int, max_bytes: int) -> bool:
    """True when a file of `size` bytes goes in the email: a file of exactly `max_bytes` still does.

    `max_bytes` (MAX_ATTACHMENT_BYTES) limits the raw file; base64 makes the message ~1.37× larger.
    A limit of 0 turns attachments off: every email then carries only the link.
    """
    return max_bytes > 0 and size <= max_bytes


def pick_lang(lang: str) -> str:
    """`fr`, `fr-FR`, `FR_ca` → `fr`; anything we have no templates for → `en`."""
    base = re.split(r"[-_]", lang.strip().lower(), maxsplit=1)[0]
    return base if base in LANGS else "en"


def format_count(count: int, lang: str) -> str:
    """`1,234 rows` / `1 234 lignes` (French: 0 and 1 take the singular; narrow no-break space)."""
    if lang == "fr":
        return f"{count:,}".replace(",", "\u202f") + (" ligne" if count < 2 else " lignes")
    return f"{count:,}" + (" row" if count == 1 else " rows")


def format_expiry(moment: datetime, timezone: str, lang: str) -> str:
    """The link's end in the project's zone, as the recipient's language writes it, the zone named:
    `June 20, 2025, 4:05 PM (Central European Time)` / `20 juin 2025, 16:05 (heure d’Europe centrale)`.
    Babel owns the words and their order; a UTC project reads `(UTC)`. Naive datetimes are taken as UTC."""
    zone = ZoneInfo(timezone)
    local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(zone)
    glue = str(get_datetime_format("long", locale=lang))
    when = glue.replace("{1}", format_date(local, "long", locale=lang)).replace(
        "{0}", format_time(local, "short", tzinfo=zone, locale=lang))
    name = "UTC" if timezone in ("UTC", "Etc/UTC") else get_timezone_name(zone, "long", zone_variant="generic",
                                                                           locale=lang)
    return f"{when} ({name})"


def _filters_text(filters: Mapping[str, Any] | None, lang: str, changes_since: int | None) -> str:
    """The filters, and the export an incremental one follows, in words; "" for an export of every row
    (the email then says nothing of them)."""
    said = [describe_filters(filters, lang) if filters else "", describe_changes(changes_since, lang)]
    return " ".join(part for part in said if part)


def _render(kind: str, lang: str, context: dict[str, object]) -> tuple[str, str, str]:
    """(subject, text, html) for template family `kind`."""
    raw_subject = _env.get_template(f"{kind}.{lang}.subject.j2").render(context)
    # One line whatever the project name holds: a newline in a header would be an injection.
    subject = " ".join(raw_subject.split())
    text = _env.get_template(f"{kind}.{lang}.txt.j2").render(context)
    html = _env.get_template(f"{kind}.{lang}.html.j2").render(context, subject=subject)
    return subject, text, html


def _message(*, local_id: str, to: str, to_name: str, subject: str, text: str, html: str, mail_from: str,
             message_domain: str) -> EmailMessage:
    if not re.fullmatch(r"[A-Za-z0-9.-]+", message_domain):
        raise ValueError(f"invalid message domain {message_domain!r}")
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = mail_from
    msg["To"] = Address(display_name=to_name, addr_spec=to)
    msg["Date"] = format_datetime(datetime.now(UTC), usegmt=True)
    msg["Message-ID"] = f"<{local_id}@{message_domain}>"
    # RFC 3834: tells vacation responders not to answer.
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text, cte="quoted-printable")
    msg.add_alternative(html, subtype="html", cte="quoted-printable")
    return msg


def _with_language(msg: EmailMessage, lang: str) -> EmailMessage:
    """Set last: adding parts moves Content-* headers of the top part down into the new subpart."""
    msg["Content-Language"] = lang
    return msg


def _split_mime_type(mime_type: str) -> tuple[str, str, dict[str, str]]:
    """`text/csv; charset=utf-8` → ("text", "csv", {"charset": "utf-8"}); text defaults to UTF-8."""
    type_part, *param_parts = mime_type.split(";")
    maintype, _, subtype = type_part.strip().lower().partition("/")
    if not maintype or not subtype:
        raise ValueError(f"invalid MIME type {mime_type!r}")
    params = {}
    for part in param_parts:
        name, _, value = part.partition("=")
        if name.strip():
            params[name.strip().lower()] = value.strip().strip('"')
    if maintype == "text":
        params.setdefault("charset", "utf-8")
    return maintype, subtype, params


def compose_succeeded(*, export_id: int, to: str, to_name: str, lang: str, project_name: str, format_: str,
                      row_count: int, link: str, expires_at: datetime, timezone: str, file_name: str,
                      mime_type: str, sha256: str | None, attachment: bytes | None, mail_from: str,
                      message_domain: str, filters: Mapping[str, Any] | None = None,
                      changes_since: int | None = None, layout: str | None = None,
                      summary: Summary | None = None) -> EmailMessage:
    """The "your export is ready" email; `attachment` None means the file was too big (link only);
    `timezone` the project's, for the link's expiry; `sha256` the file's, for the owner to check it (None:
    made before checksums); `filters` and `changes_since` the export's (as its resource shows them), said in
    words when set; `layout` its row layout (the resource's), said in words (None: nothing said); `summary`
    its control totals (None: made before them)."""
    lang = pick_lang(lang)
    file_name = _UNSAFE_FILE_CHARS.sub("_", file_name)
    context: dict[str, object] = {
        "lang": lang, "export_id": export_id, "to_name": to_name, "project_name": project_name,
        "format_label": FORMAT_LABELS.get(format_, format_.upper()),
        "rows_text": format_count(row_count, lang), "link": link,
        "expiry_text": format_expiry(expires_at, timezone, lang), "file_name": file_name, "sha256": sha256,
        "attached": attachment is not None, "filters_text": _filters_text(filters, lang, changes_since),
        "layout_text": describe_layout(layout, lang) if layout else "",
        "summary_lines": summary_lines(summary, lang),
    }
    subject, text, html = _render("export_succeeded", lang, context)
    msg = _message(local_id=f"export-{export_id}", to=to, to_name=to_name, subject=subject, text=text, html=html,
                   mail_from=mail_from, message_domain=message_domain)
    if attachment is not None:
        maintype, subtype, params = _split_mime_type(mime_type)
        msg.add_attachment(attachment, maintype=maintype, subtype=subtype, filename=file_name, params=params)
    return _with_language(msg, lang)


def compose_failed(*, export_id: int, to: str, to_name: str, lang: str, project_name: str, format_: str,
                   error: str, mail_from: str, message_domain: str,
                   filters: Mapping[str, Any] | None = None, changes_since: int | None = None) -> EmailMessage:
    """The "your export could not be made" email, with the readable reason (and its filters, as above)."""
    lang = pick_lang(lang)
    context: dict[str, object] = {
        "lang": lang, "export_id": export_id, "to_name": to_name, "project_name": project_name,
        "format_label": FORMAT_LABELS.get(format_, format_.upper()), "error": error,
        "filters_text": _filters_text(filters, lang, changes_since),
    }
    subject, text, html = _render("export_failed", lang, context)
    msg = _message(local_id=f"export-{export_id}", to=to, to_name=to_name, subject=subject, text=text, html=html,
                   mail_from=mail_from, message_domain=message_domain)
    return _with_language(msg, lang)


def compose_webhook_disabled(*, endpoint_id: int, to: str, to_name: str, lang: str, url: str, days: int,
                             last_failure: str, docs_url: str, mail_from: str, message_domain: str) -> EmailMessage:
    """The "your webhook endpoint was disabled" email (webhooks.notices): its URL, why (`days` of failed
    attempts, the last one's error or status as recorded), and how to register it again. Message-ID
    `<webhook-endpoint-{id}-disabled@…>`: an endpoint is disabled once."""
    lang = pick_lang(lang)
    context: dict[str, object] = {"lang": lang, "endpoint_id": endpoint_id, "to_name": to_name, "url": url,
                                  "days": days, "last_failure": last_failure, "docs_url": docs_url}
    subject, text, html = _render("webhook_disabled", lang, context)
    msg = _message(local_id=f"webhook-endpoint-{endpoint_id}-disabled", to=to, to_name=to_name, subject=subject,
                   text=text, html=html, mail_from=mail_from, message_domain=message_domain)
    return _with_language(msg, lang)


def compose_schedule_refused(*, run_id: int, to: str, to_name: str, lang: str, project_name: str, rule_text: str,
                             slot: datetime, timezone: str, error: str, mail_from: str,
                             message_domain: str) -> EmailMessage:
    """The "your scheduled export was not made" email (schedules.notices): the slot, the rule in words,
    why its settings were refused. One per run: its Message-ID is `<schedule-run-{id}@…>`."""
    lang = pick_lang(lang)
    context: dict[str, object] = {
        "lang": lang, "to_name": to_name, "project_name": project_name, "rule_text": rule_text,
        "slot_text": format_expiry(slot, timezone, lang), "error": error,
    }
    subject, text, html = _render("schedule_refused", lang, context)
    msg = _message(local_id=f"schedule-run-{run_id}", to=to, to_name=to_name, subject=subject, text=text,
                   html=html, mail_from=mail_from, message_domain=message_domain)
    return _with_language(msg, lang)

"""Logging: one JSON object per line (or plain text), each carrying the export it is about.

The export id travels in a context variable set by the worker around one export's work, so every
line logged meanwhile (ours, SQLAlchemy's, boto's) says which export it belongs to.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

current_export_id: ContextVar[int | None] = ContextVar("current_export_id", default=None)
# A download link's signature (signing.download_path), wherever a line quotes the link: the access log.
SIGNATURE = re.compile(r"([?&]signature=)[^&\s\"']*")


@contextmanager
def export_context(export_id: int) -> Iterator[None]:
    token = current_export_id.set(export_id)
    try:
        yield
    finally:
        current_export_id.reset(token)


class SignaturesRedacted(logging.Filter):
    """Whoever holds a download link may download the file until it expires: its signature must not be
    read in the logs. The message is formatted here once (the formatter then uses it as it is)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "signature=" in message:
            message = SIGNATURE.sub(r"\1REDACTED", message)
        record.msg, record.args = message, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
            "thread": record.threadName,
        }
        export_id = current_export_id.get()
        if export_id is not None:
            entry["export_id"] = export_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        export_id = current_export_id.get()
        line = super().format(record)
        return f"{line} [export {export_id}]" if export_id is not None else line


def configure(log_format: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(SignaturesRedacted())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())

"""Rows → writer → temporary file → storage.publish. Shared by the worker and `exports run`."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from crowdexports.errors import ExportStopped
from crowdexports.exports.filenames import export_file_name, sheet_title
from crowdexports.exports.requests import validate_export_request
from crowdexports.exports.summary import Summary, Totals
from crowdexports.exports.summary_sheet import summary_sheet
from crowdexports.exports.types.base import ExportContext
from crowdexports.exports.writers.base import SheetInfo
from crowdexports.exports.writers.digest import write_hashed
from crowdexports.filemodes import private_dir
from crowdexports.models import Export, Project, User
from crowdexports.storage.base import Storage
from crowdexports.sync.changes import last_change

CHECK_EVERY_ROWS = 1000


class Progress:
    """Rows written so far, the expected total once counted, and whether to stop; shared with the
    heartbeat thread, which records the first two on the export row, and checked in batches."""

    def __init__(self) -> None:
        self.rows_done = 0
        self.estimated_total: int | None = None
        self.stop = threading.Event()
        self.hand_back = False  # stopping because this process shuts down, not because of a cancel

    def watch(self, rows: Iterable[Sequence[object]]) -> Iterator[Sequence[object]]:
        count = 0
        for row in rows:
            yield row
            count += 1
            if count % CHECK_EVERY_ROWS == 0:
                self.rows_done = count
                if self.stop.is_set():
                    raise ExportStopped("export stopped while writing")
        self.rows_done = count
        if self.stop.is_set():
            raise ExportStopped("export stopped while writing")


def discard_leftovers(out_dir: Path, export_id: int) -> None:
    """Remove temporary files of earlier attempts: the new claim proves those workers are gone or fenced."""
    for leftover in out_dir.glob(f"export-{export_id}-*.part"):
        leftover.unlink(missing_ok=True)


@dataclass(frozen=True)
class BuiltFile:
    path: Path
    file_name: str
    mime_type: str
    row_count: int
    changes_upto: int  # the last order change number the file includes (sync.changes)
    sha256: str  # hex, of the bytes as written: the file's proof on the resource, the email and the download
    summary: Summary  # the control totals of the rows written (exports.summary)


def build_file(session: Session, export: Export, project: Project, recipient: User, out_dir: Path,
               progress: Progress) -> BuiltFile:
    """Write the export's file into `out_dir` under a temporary name; the caller publishes or discards it."""
    export_type, writer, columns, format_options, type_options, _ = validate_export_request(
        export.type, export.format, export.columns, recipient.lang, options=export.options, zone=project.timezone)
    # Read before the rows, and their bound: an import committing during the read is in the next export.
    changes_upto = last_change(session, project.id)
    context = ExportContext(
        project_id=project.id, lang=recipient.lang, project_lang=project.lang, currency=project.currency,
        timezone=ZoneInfo(project.timezone), columns=columns, options=type_options, changes_upto=changes_upto,
    )
    progress.estimated_total = export_type.estimate_rows(session, context)
    totals = Totals(project.currency)
    info = SheetInfo(currency=project.currency, title=sheet_title(project.name),
                     summary=summary_sheet(totals, recipient.lang))
    private_dir(out_dir)
    path = out_dir / f"export-{export.id}-{uuid.uuid4().hex}.{writer.extension}.part"
    rows = export_type.rows(session, context, totals)
    try:
        row_count, sha256 = write_hashed(writer, path, columns, progress.watch(rows), info, format_options)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    finally:  # now, not when the traceback lets go of it: on SQLite this stops the reading process
        close = getattr(rows, "close", None)
        if close is not None:
            close()
    file_name = export_file_name(project.name, project.id, export.id, export.type, export.created_at, writer.extension)
    return BuiltFile(path, file_name, writer.mime_type, row_count, changes_upto, sha256, totals.summary())


def publish(storage: Storage, export_id: int, attempt: int, built: BuiltFile) -> tuple[str, int]:
    """Publish under a key unique to this attempt, so a lost attempt can never overwrite the winner's file."""
    key = f"exports/{export_id}/{attempt}-{uuid.uuid4().hex}/{built.file_name}"
    return key, storage.publish(built.path, key)

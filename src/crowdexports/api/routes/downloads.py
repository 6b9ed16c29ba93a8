"""The signed download link: whoever holds it gets the file until it expires, with no other credentials.

The link names an export id, never a storage path; the stored key comes from the database row.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import BinaryIO
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from crowdexports.api.deps import RuntimeDep, SessionDep, parse_id
from crowdexports.api.schemas import errors
from crowdexports.exports import queries
from crowdexports.exports.writers import get_writer

router = APIRouter(tags=["exports"])
CHUNK = 64 * 1024
MAX_NAME = 150
UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9._ ()+-]")


def _ascii(text: str) -> str:
    return UNSAFE_ASCII.sub("_", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode())


def content_disposition(file_name: str) -> str:
    """RFC 6266 `attachment` with an ASCII `filename` for old clients and the UTF-8 `filename*`.

    Control and format characters (CR, LF, NUL, RTL overrides) and path separators are dropped from
    both; the fallback also loses quotes, semicolons and percent signs, which old clients misread.
    """
    clean = "".join(ch for ch in file_name if unicodedata.category(ch)[0] != "C" and ch not in "/\\")
    clean = clean.strip(" .")[:MAX_NAME] or "export"
    stem, dot, extension = clean.rpartition(".")
    if not dot:
        stem, extension = clean, ""
    fallback = (_ascii(stem).strip(" ._") or "export") + (f".{_ascii(extension)}" if dot else "")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(clean, safe='')}"


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(CHUNK):
            yield chunk


@router.get("/v1/exports/{export_id}/download", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}, "application/octet-stream": {}}}, **errors(404)})
def download(export_id: str, session: SessionDep, runtime: RuntimeDep, expires: str | None = None,
             signature: str | None = None) -> StreamingResponse:
    """The export's file. Any problem with the link or the file is the same 404."""
    export = queries.downloadable(session, parse_id(export_id), expires, signature, runtime.settings)
    writer, stream = get_writer(export.format), runtime.storage.open(export.storage_key or "")
    file_name = export.file_name or f"export-{export.id}.{writer.extension}"
    headers = {"Content-Disposition": content_disposition(file_name), "X-Content-Type-Options": "nosniff",
               "Cache-Control": "private, no-store"}
    return StreamingResponse(_chunks(stream), media_type=writer.mime_type, headers=headers)

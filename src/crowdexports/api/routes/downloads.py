"""The signed download link: whoever holds it gets the file until it expires, with no other credentials.

The link names an export id, never a storage path; the stored key comes from the database row.
With S3 the verified link answers 302 to a presigned URL made at click time, valid for minutes: our link
can live FILE_TTL_DAYS (past SigV4's 7-day limit and past temporary credentials), and the bytes
never pass through the API. Local storage has no such URL, so the file is streamed.

A signed link whose file is gone from the store answers 404 FILE_GONE: the storage key is logged, never
shown (it names the store's layout).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import BinaryIO

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from crowdexports.api.database import SessionDep
from crowdexports.api.openapi import answers
from crowdexports.api.parameters import parse_id
from crowdexports.api.state import RuntimeDep
from crowdexports.errors import NotFound
from crowdexports.exports.download_links import downloadable
from crowdexports.exports.writers import get_writer
from crowdexports.models import utcnow
from crowdexports.storage.base import Storage, content_disposition

logger = logging.getLogger(__name__)
router = APIRouter(tags=["exports"])
CHUNK = 64 * 1024
REDIRECT_SECONDS = 300  # the presigned URL only has to survive the redirect and a slow download start
NO_STORE = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"}
FILE_GONE = "The file of this export is no longer available."


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(CHUNK):
            yield chunk


def _file_gone(export_id: int, key: str) -> NotFound:
    logger.warning("export %s: its stored file %r is gone", export_id, key)
    return NotFound(FILE_GONE)


def _open(storage: Storage, export_id: int, key: str) -> BinaryIO:
    try:
        return storage.open(key)
    except NotFound:
        raise _file_gone(export_id, key) from None


@router.get("/v1/exports/{export_id}/download", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}, "application/octet-stream": {}}},
                       302: {"description": "to a short-lived presigned URL of the object store"}})
@answers(503)  # the storage down
def download(export_id: str, session: SessionDep, runtime: RuntimeDep, expires: str | None = None,
             signature: str | None = None) -> Response:
    """The export's file (or a redirect to it). A bad link or a missing file: 404; storage down: 503."""
    export = downloadable(session, parse_id(export_id), expires, signature, runtime.settings)
    writer, key = get_writer(export.format), export.storage_key or ""
    file_name = export.file_name or f"export-{export.id}.{writer.extension}"
    assert export.expires_at is not None  # downloadable() checked it
    remaining = int((export.expires_at - utcnow()).total_seconds())
    presigned = runtime.storage.presigned_url(key, expires_in=max(1, min(REDIRECT_SECONDS, remaining)),
                                              file_name=file_name, mime_type=writer.mime_type)
    if presigned is not None:
        if not runtime.storage.exists(key):  # answer our 404 envelope, not the store's XML error
            raise _file_gone(export.id, key)
        return RedirectResponse(presigned, status_code=302, headers=NO_STORE)
    stream = _open(runtime.storage, export.id, key)
    headers = {"Content-Disposition": content_disposition(file_name), **NO_STORE}
    return StreamingResponse(_chunks(stream), media_type=writer.mime_type, headers=headers)

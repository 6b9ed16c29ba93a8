"""The signed download link: whoever holds it gets the file until it expires, with no other credentials.

The link names an export id, never a storage path; the stored key comes from the database row.
With S3 the verified link answers 302 to a presigned URL made at click time, valid for minutes: our link
can live FILE_TTL_DAYS (past SigV4's 7-day limit and past temporary credentials), and the bytes
never pass through the API. Local storage has no such URL, so the file is streamed.

The proof of the file (RFC 9530): every answer that describes the whole file carries `Repr-Digest:
sha-256=:<base64>:`, from the SHA-256 recorded when the file was written. `HEAD` is answered here on both
stores (a presigned URL is signed for GET only), with the headers a GET would have and no body. A single
byte `Range` (api/ranges.py) is answered 206 with `Content-Range`; on S3 the client sends it again to the
presigned URL, which S3 answers 206 itself.

A signed link whose file is gone from the store answers 404 FILE_GONE: the storage key is logged, never
shown (it names the store's layout).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from typing import BinaryIO

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from crowdexports.api.database import SessionDep
from crowdexports.api.openapi import answers
from crowdexports.api.parameters import parse_id
from crowdexports.api.ranges import ByteRange, requested_range
from crowdexports.api.state import RuntimeDep
from crowdexports.errors import NotFound
from crowdexports.exports.download_links import downloadable
from crowdexports.exports.writers import get_writer
from crowdexports.models import Export, utcnow
from crowdexports.storage.base import Storage, content_disposition

logger = logging.getLogger(__name__)
router = APIRouter(tags=["exports"])
CHUNK = 64 * 1024
REDIRECT_SECONDS = 300  # the presigned URL only has to survive the redirect and a slow download start
NO_STORE = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"}
FILE_GONE = "The file of this export is no longer available."


def _chunks(stream: BinaryIO, length: int) -> Iterator[bytes]:
    """`length` bytes from the stream's position, in CHUNK pieces."""
    with stream:
        while length > 0 and (chunk := stream.read(min(CHUNK, length))):
            length -= len(chunk)
            yield chunk


def repr_digest(sha256_hex: str) -> str:
    """RFC 9530's `Repr-Digest` value: a structured-field byte sequence, base64 between colons."""
    return f"sha-256=:{base64.b64encode(bytes.fromhex(sha256_hex)).decode()}:"


def _file_headers(export: Export, file_name: str) -> dict[str, str]:
    """The headers about the file: on a local GET (200 or 206) and on HEAD, on both stores (S3 GETs redirect)."""
    headers = {"Content-Disposition": content_disposition(file_name), "Accept-Ranges": "bytes", **NO_STORE}
    if export.sha256 is not None:  # files made before checksums have none
        headers["Repr-Digest"] = repr_digest(export.sha256)
    return headers


def _file_gone(export_id: int, key: str) -> NotFound:
    logger.warning("export %s: its stored file %r is gone", export_id, key)
    return NotFound(FILE_GONE)


def _open(storage: Storage, export_id: int, key: str) -> BinaryIO:
    try:
        return storage.open(key)
    except NotFound:
        raise _file_gone(export_id, key) from None


DOWNLOAD_HEADERS = {
    "Repr-Digest": "RFC 9530: `sha-256=:<base64 of the SHA-256>:` of the whole file (also on 206).",
    "Accept-Ranges": "`bytes`: single byte ranges are served, for resumed downloads.",
}
_HEADER_SCHEMAS = {name: {"description": text, "schema": {"type": "string"}} for name, text in DOWNLOAD_HEADERS.items()}


@router.head("/v1/exports/{export_id}/download", responses={
    200: {"headers": _HEADER_SCHEMAS, "description": "The headers a GET of the whole file has (Content-Length, "
                                                     "Repr-Digest, Content-Disposition), no body; on both stores."}})
@router.get(
    "/v1/exports/{export_id}/download", response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {}, "application/octet-stream": {}}, "headers": _HEADER_SCHEMAS,
              "description": "The whole file."},
        206: {"content": {"text/csv": {}, "application/octet-stream": {}},
              "headers": {**_HEADER_SCHEMAS, "Content-Range": {"description": "`bytes <first>-<last>/<size>`",
                                                               "schema": {"type": "string"}}},
              "description": "One byte range of the file (`Range: bytes=<first>-<last>`), local storage."},
        302: {"description": "GET on S3: to a short-lived presigned URL of the object store, which serves "
                             "`Range` itself"},
        416: {"description": "The range starts past the end of the file.",
              "headers": {"Content-Range": {"description": "`bytes */<size>`", "schema": {"type": "string"}}},
              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}},
    })
@answers(503)  # the storage down
def download(export_id: str, request: Request, session: SessionDep, runtime: RuntimeDep, expires: str | None = None,
             signature: str | None = None) -> Response:
    """The export's file (or a redirect to it), whole or one byte range; HEAD: its headers. A bad link or a
    missing file: 404; a range past the end: 416; storage down: 503."""
    export = downloadable(session, parse_id(export_id), expires, signature, runtime.settings)
    writer, key = get_writer(export.format), export.storage_key or ""
    file_name = export.file_name or f"export-{export.id}.{writer.extension}"
    headers = _file_headers(export, file_name)
    assert export.expires_at is not None and export.size is not None  # downloadable() checked the first
    if request.method == "HEAD":  # ours on both stores: a presigned URL answers GET only
        if not runtime.storage.exists(key):
            raise _file_gone(export.id, key)
        return Response(headers={**headers, "Content-Length": str(export.size)}, media_type=writer.mime_type)
    remaining = int((export.expires_at - utcnow()).total_seconds())
    presigned = runtime.storage.presigned_url(key, expires_in=max(1, min(REDIRECT_SECONDS, remaining)),
                                              file_name=file_name, mime_type=writer.mime_type)
    if presigned is not None:
        if not runtime.storage.exists(key):  # answer our 404 envelope, not the store's XML error
            raise _file_gone(export.id, key)
        return RedirectResponse(presigned, status_code=302, headers=NO_STORE)
    part = requested_range(request.headers.get("range"), export.size)
    stream = _open(runtime.storage, export.id, key)
    if part is None:
        part, status = ByteRange(0, export.size - 1), 200
    else:
        headers["Content-Range"], status = part.content_range(export.size), 206
        stream.seek(part.start)
    headers["Content-Length"] = str(part.length)
    return StreamingResponse(_chunks(stream, part.length), status_code=status, media_type=writer.mime_type,
                             headers=headers)

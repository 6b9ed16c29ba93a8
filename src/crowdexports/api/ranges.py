"""Byte ranges of a download (RFC 9110 §14): one `Range: bytes=...` per request, for resumed downloads.

Only a single range is served (`bytes=0-99`, `bytes=100-`, `bytes=-500`): that is what download managers
and `curl -C -` send. Several ranges, another unit or a malformed value are ignored and the whole file
is answered (200), as RFC 9110 allows; a well-formed range that starts past the end is refused (416).
`If-Range` needs no check: a published file never changes under its key (each attempt has its own).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crowdexports.errors import RangeNotSatisfiable

_SINGLE = re.compile(r"bytes=(\d*)-(\d*)")


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive, as Content-Range counts

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


def requested_range(header: str | None, size: int) -> ByteRange | None:
    """The one range of `header` within a file of `size` bytes; None: answer the whole file."""
    match = _SINGLE.fullmatch((header or "").replace(" ", ""))
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":  # the last `last` bytes
        if int(last) == 0:
            raise RangeNotSatisfiable(size)
        return ByteRange(max(0, size - int(last)), size - 1)
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if last != "" and int(last) < start:
        return None  # invalid syntax (RFC 9110 §14.1.1): ignored
    if start >= size:
        raise RangeNotSatisfiable(size)
    return ByteRange(start, end)

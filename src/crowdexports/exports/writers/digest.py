"""The output stream the pipeline hands writers: every chunk goes to the file and into SHA-256 as it is written.

So the file's checksum costs no second read of the file, and one `update` per chunk the writer emits
(csv: the text layer's 8 KiB buffer; xlsx: each deflated block), never one per row. The stream is not
seekable, so zipfile writes each entry once with a data descriptor instead of seeking back: every byte
is hashed exactly once, in file order.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import BinaryIO, cast

from crowdexports.exports.options import Options
from crowdexports.exports.types.base import OutputColumn
from crowdexports.exports.writers.base import RowWriter, SheetInfo


class HashingStream(io.RawIOBase):
    """Append-only writes to `file`, hashed on the way; `hexdigest()` once the writer is done."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self._hash = hashlib.sha256()
        self._written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._hash.update(data)
        written = self._file.write(data)
        self._written += written
        return written

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        self._file.flush()

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def write_hashed(writer: RowWriter, path: Path, columns: Sequence[OutputColumn], rows: Iterable[Sequence[object]],
                 info: SheetInfo, options: Options | None = None) -> tuple[int, str]:
    """`writer.write` into a new file at `path` through a HashingStream: (data row count, hex SHA-256)."""
    with path.open("wb") as file:
        stream = HashingStream(file)
        count = writer.write(cast(BinaryIO, stream), columns, rows, info, options)
    return count, stream.hexdigest()

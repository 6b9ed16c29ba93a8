"""The embedded default mailer: each email becomes `<outbox>/<Message-ID local part>.eml`.

A file named after the Message-ID makes sending idempotent: sending the same email again replaces
the file with the same content, so a worker that died mid-send may simply send again.
"""

from __future__ import annotations

import os
import re
import tempfile
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from crowdexports.filemodes import private_dir

_SAFE_LOCAL_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}")


class OutboxMailer:
    resend_is_safe = True

    def __init__(self, directory: Path) -> None:
        self.directory = private_dir(directory)

    def path_for(self, message: EmailMessage) -> Path:
        """Where `message` is (or will be) written; ValueError if its Message-ID cannot name a file."""
        message_id = str(message.get("Message-ID", "")).strip().removeprefix("<").removesuffix(">")
        local_part = message_id.partition("@")[0]
        if not _SAFE_LOCAL_PART.fullmatch(local_part):
            raise ValueError(f"cannot name an outbox file after Message-ID {message_id!r}")
        return self.directory / f"{local_part}.eml"

    def send(self, message: EmailMessage) -> None:
        """Write the message as it would go over the wire (CRLF), atomically: temp file, fsync, rename.

        mkstemp makes the file 600 (filemodes.FILE_MODE), whatever the umask."""
        path = self.path_for(message)
        data = message.as_bytes(policy=SMTP)
        fd, tmp_name = tempfile.mkstemp(dir=self.directory, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

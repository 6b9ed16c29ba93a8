"""Signed, expiring download links: whoever holds the link may download the file until it expires.

The link names the export id, never a storage path, so it cannot be bent to read another file.
The signature covers a purpose and version prefix, so a signature made for something else with the
same secret can never pass as a download signature.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime


def _signature(secret: str, export_id: int, expires: str) -> bytes:
    message = f"download:v1:{export_id}:{expires}".encode("utf-8", "surrogatepass")
    return hmac.digest(secret.encode(), message, "sha256").hex().encode()


def _unix(moment: datetime) -> int:
    """Whole seconds since the epoch; a naive datetime is taken as UTC (how the models store time)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def download_path(secret: str, export_id: int, expires_at: datetime) -> str:
    """The path (to put after PUBLIC_URL) that downloads export `export_id` until `expires_at`."""
    expires = str(_unix(expires_at))
    signature = _signature(secret, export_id, expires).decode()
    # Digits and hex: nothing to escape in the query (a list page builds 20 of these).
    return f"/v1/exports/{export_id}/download?expires={expires}&signature={signature}"


def verify_download(secret: str, export_id: int, expires: str | None, signature: str | None,
                    now: datetime) -> bool:
    """True only for an untampered link whose expiry (exclusive) is after `now`; never raises on bad input.

    `expires` and `signature` are the raw query values (None when missing).
    """
    if expires is None or signature is None:
        return False
    given = signature.encode("utf-8", "surrogatepass")
    # Check the signature first, in constant time, so the answer leaks nothing about the expiry.
    if not hmac.compare_digest(_signature(secret, export_id, expires), given):
        return False
    if not (expires.isascii() and expires.isdigit()):
        return False
    return _unix(now) < int(expires)

"""Signed download links: only the untampered, unexpired link for that export passes."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from crowdexports.auth.signing import download_path, verify_download

SECRET = "test-secret-key-0123456789abcdef"
NOW = datetime(2025, 6, 13, 14, 5, 30, tzinfo=UTC)


def _link(export_id: int = 42, expires_at: datetime = NOW + timedelta(days=7)) -> tuple[str, str, str]:
    """(path, expires, signature) of a fresh link."""
    path = download_path(SECRET, export_id, expires_at)
    query = parse_qs(urlsplit(path).query, strict_parsing=True)
    return urlsplit(path).path, query["expires"][0], query["signature"][0]


def _flip(hex_text: str, index: int) -> str:
    return hex_text[:index] + ("0" if hex_text[index] != "0" else "1") + hex_text[index + 1:]


def test_a_fresh_link_verifies() -> None:
    path, expires, signature = _link()
    assert path == "/v1/exports/42/download"
    assert expires == str(int((NOW + timedelta(days=7)).timestamp()))
    assert len(signature) == 64 and int(signature, 16) >= 0
    expected = hmac.new(SECRET.encode(), f"download:v1:42:{expires}".encode(), hashlib.sha256).hexdigest()
    assert signature == expected
    assert verify_download(SECRET, 42, expires, signature, NOW)


@pytest.mark.parametrize("index", [0, 31, 63])
def test_a_flipped_character_fails(index: int) -> None:
    _, expires, signature = _link()
    assert not verify_download(SECRET, 42, expires, _flip(signature, index), NOW)


def test_another_exports_signature_fails() -> None:
    _, expires, other_signature = _link(export_id=43)
    assert not verify_download(SECRET, 42, expires, other_signature, NOW)


def test_another_secret_fails() -> None:
    _, expires, signature = _link()
    assert not verify_download("another-secret-key-0123456789ab", 42, expires, signature, NOW)


@pytest.mark.parametrize("length", [0, 1, 32, 63])
def test_a_truncated_signature_fails(length: int) -> None:
    _, expires, signature = _link()
    assert not verify_download(SECRET, 42, expires, signature[:length], NOW)


def test_expiry_is_exclusive_and_in_whole_seconds() -> None:
    _, expires, signature = _link(expires_at=NOW - timedelta(seconds=1))
    assert not verify_download(SECRET, 42, expires, signature, NOW)

    _, expires, signature = _link(expires_at=NOW + timedelta(seconds=1))
    assert verify_download(SECRET, 42, expires, signature, NOW)
    assert not verify_download(SECRET, 42, expires, signature, NOW + timedelta(seconds=1))


def test_moving_the_expiry_later_breaks_the_signature() -> None:
    _, expires, signature = _link(expires_at=NOW - timedelta(seconds=1))
    later = str(int(expires) + 365 * 86400)
    assert not verify_download(SECRET, 42, later, signature, NOW)


@pytest.mark.parametrize("expires", ["abc", "1e12", " 1900000000", "1900000000.5", "-1", "١٩٠٠٠٠٠٠٠٠", ""])
def test_a_non_numeric_expiry_fails_even_when_signed(expires: str) -> None:
    # Signed with the real key, so only the expiry parsing can refuse it.
    signature = hmac.new(SECRET.encode(), f"download:v1:42:{expires}".encode(), hashlib.sha256).hexdigest()
    assert not verify_download(SECRET, 42, expires, signature, NOW)


@pytest.mark.parametrize("expires, signature", [
    (None, "00"), ("1900000000", None), ("\ud800", "\ud800"), ("1900000000", "é" * 64), ("9" * 5000, "x"),
])
def test_malformed_input_is_false_not_an_exception(expires: str | None, signature: str | None) -> None:
    assert verify_download(SECRET, 42, expires, signature, NOW) is False

"""One POST of a delivery to an endpoint, and what came back: a status, or why there was none.

The standard library's client, on a socket this module opens itself to an address `addresses` allowed
(not to the name again: DNS rebinding), with the URL's host as Host and TLS server name, so certificates
are checked against the name. It never follows a redirect (a 3xx is an answer like any other), and every
step (connect, TLS, send, the answer's status line and headers) must end within the timeout.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from crowdexports.webhooks.addresses import AddressRefused, Resolver, checked_addresses, resolve
from crowdexports.webhooks.rules import TIMEOUT_SECONDS

MAX_ERROR = 500  # characters of an error kept for the owner's listing


@dataclass(frozen=True, slots=True)
class Answer:
    status_code: int | None  # None: no answer; `error` says why
    error: str | None
    duration_ms: int


def post(url: str, body: bytes, headers: Mapping[str, str], *, allow_private: bool,
         timeout: float = TIMEOUT_SECONDS, resolver: Resolver = resolve) -> Answer:
    """POST `body` to `url`; never raises for the receiver's or the network's faults."""
    started = time.monotonic()
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = checked_addresses(host, port, allow_private=allow_private, resolver=resolver)
        status = _send(parts.scheme == "https", host, port, addresses, parts.path or "/", parts.query, body,
                       headers, timeout)
    except AddressRefused as exc:
        return _failed(f"address refused: {exc}", started)
    except TimeoutError:
        return _failed(f"timeout: no answer within {timeout:g} s", started)
    except (OSError, http.client.HTTPException) as exc:
        return _failed(f"connection error: {type(exc).__name__}: {exc}", started)
    return Answer(status, None, _elapsed_ms(started))


def _send(tls: bool, host: str, port: int, addresses: list[str], path: str, query: str, body: bytes,
          headers: Mapping[str, str], timeout: float) -> int:
    sock = _connect(addresses, port, timeout)
    try:
        if tls:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
        connection.sock = sock  # already connected: http.client then sends on it (Host: the URL's host)
        connection.request("POST", f"{path}?{query}" if query else path, body=body,
                           headers={"Content-Type": "application/json", "User-Agent": "crowdexports-webhooks",
                                    **headers})
        response = connection.getresponse()
        response.read(64 * 1024)  # a little of the body, so the receiver's write does not fail; not kept
        return response.status
    finally:
        sock.close()


def _connect(addresses: list[str], port: int, timeout: float) -> socket.socket:
    """A connection to the first of `addresses` that answers."""
    error: OSError = OSError("no address")
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout=timeout)
        except TimeoutError:
            raise
        except OSError as exc:
            error = exc
    raise error


def _failed(error: str, started: float) -> Answer:
    return Answer(None, error[:MAX_ERROR], _elapsed_ms(started))


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)

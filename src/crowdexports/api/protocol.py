"""uvicorn's HTTP/1.1 protocol (httptools) with the limits uvicorn leaves out for clients that hold a
connection without finishing a request: a deadline and a size for the request line and headers, and a
cap on the connections of one address. It also hands each request's start to the body's deadline
(api/limits.py BodyDeadline)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

# uvicorn's internals (pinned; tests/test_private_apis.py checks the hooks and attributes used here).
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from crowdexports.api import errors
from crowdexports.api.limits import REQUEST_STARTED

logger = logging.getLogger(__name__)
WARN_EVERY_SECONDS = 60.0


class ConnectionsPerAddress:
    """The open connections of each client address in this process (one object per API process: uvicorn
    gives each process its own copy of the protocol's arguments)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: dict[str, int] = {}
        self.next_warning = float("-inf")

    def add(self, address: str, now: float) -> bool:
        """Count one more connection of `address`; False if that is one too many (it is to be closed).
        A refusal is logged at most once a minute: a flood of connections must not flood the log."""
        count = self.open.get(address, 0) + 1
        self.open[address] = count
        if count <= self.limit:
            return True
        if now >= self.next_warning:
            self.next_warning = now + WARN_EVERY_SECONDS
            logger.warning("connections from %s refused: %d open already (MAX_CONNECTIONS_PER_ADDRESS); "
                           "this warning repeats at most every %.0f s", address, self.limit, WARN_EVERY_SECONDS)
        return False

    def remove(self, address: str) -> None:
        count = self.open[address] - 1
        if count:
            self.open[address] = count
        else:
            del self.open[address]


class LimitedProtocol(HttpToolsProtocol):
    """uvicorn only times out a connection idle between requests, and httptools takes headers of any
    size. So here:

    - a connection whose request line and headers are not all in `header_timeout` seconds after it
      opened or after its previous response is closed (a byte every few seconds, slowloris, would
      otherwise hold it for ever);
    - request line and headers over `max_header_bytes` are answered 431 and the connection closed,
      counted as they arrive (a 50 MB header was taken whole before);
    - a connection beyond `connections.limit` of its address is closed as soon as it opens;
    - each request's scope carries the loop time of its first byte (REQUEST_STARTED)."""

    def __init__(self, *args: Any, header_timeout: float, max_header_bytes: int,
                 connections: ConnectionsPerAddress, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self.header_deadline: asyncio.TimerHandle | None = None
        self.max_header_bytes = max_header_bytes
        self.header_bytes: int | None = None  # bytes read since the request began; None once its headers are in
        self.last_read = 0
        self.connections_per_address = connections
        self.address: str | None = None  # None until counted (and for Unix sockets)

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        self.header_deadline = self.loop.call_later(self.header_timeout, self._header_deadline_passed)

    def _disarm_header_deadline(self) -> None:
        if self.header_deadline is not None:
            self.header_deadline.cancel()
            self.header_deadline = None

    def _header_deadline_passed(self) -> None:
        self.header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    # uvicorn passes an asyncio.Transport; asyncio.Protocol declares any BaseTransport.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.client is not None:
            self.address = self.client[0]
            if not self.connections_per_address.add(self.address, self.loop.time()):
                transport.close()
                return
        self._arm_header_deadline()

    def data_received(self, data: bytes) -> None:
        self.last_read = len(data)
        if self.header_bytes is not None:
            self.header_bytes += len(data)
        super().data_received(data)
        if self.header_bytes is not None and self.header_bytes > self.max_header_bytes:
            self._refuse_headers()  # and they are still not all in

    def on_message_begin(self) -> None:
        super().on_message_begin()
        # The whole read counts: more than the request's bytes only when it follows a pipelined one.
        self.header_bytes = self.last_read
        # REQUEST_STARTED is a key of ours, beside those of the ASGI HTTP scope's TypedDict.
        self.scope[REQUEST_STARTED] = self.loop.time()  # type: ignore[literal-required]

    def on_headers_complete(self) -> None:
        self._disarm_header_deadline()
        read, self.header_bytes = self.header_bytes, None
        if read is not None and read > self.max_header_bytes and self._header_size() > self.max_header_bytes:
            # All in one read: answered by an app of its own, as uvicorn answers its own 503.
            self._log_refused_headers()
            self.app, app = errors.headers_too_large(self.max_header_bytes), self.app
            try:
                super().on_headers_complete()
            finally:
                self.app = app
            return
        super().on_headers_complete()

    def _header_size(self) -> int:
        """The request line and headers as parsed: the read bytes may hold the start of the body too."""
        return len(self.url) + 16 + sum(len(name) + len(value) + 4 for name, value in self.headers)

    def _refuse_headers(self) -> None:
        """431, unless an earlier request's response is being written (pipelining): then only the close."""
        self.header_bytes = None
        if self.transport.is_closing():
            return
        self._log_refused_headers()
        if self.cycle is None or self.cycle.response_complete:
            response = errors.headers_too_large(self.max_header_bytes)
            head = [STATUS_LINE[response.status_code]]
            head += [name + b": " + value + b"\r\n" for name, value in response.raw_headers]
            self.transport.write(b"".join([*head, b"\r\n", response.body]))
        self.transport.close()

    def _log_refused_headers(self) -> None:
        logger.warning("request headers over %d bytes from %s refused", self.max_header_bytes, self.address)

    def on_response_complete(self) -> None:
        pipelined = bool(self.pipeline)  # its headers are in already: no deadline for it
        super().on_response_complete()
        if not pipelined and not self.transport.is_closing():
            self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        if self.address is not None:
            self.connections_per_address.remove(self.address)
        super().connection_lost(exc)

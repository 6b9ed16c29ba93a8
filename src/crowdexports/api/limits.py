"""What one request may cost a process: its body's size and arrival time, and a turn among the requests
being worked on at once, taken only once the body is in. ASGI middleware, outermost first in `create_app`."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crowdexports.api import errors

# Scope key: the event loop's time when the request's first byte arrived (set by api/protocol.py).
REQUEST_STARTED = "crowdexports.request_started"


class BodySizeLimit:
    """Refuse bodies over `max_bytes` with 413: by Content-Length before reading anything, and by
    counting as it is read when the length is not declared (chunked uploads). Paths matching a
    pattern of `larger` have that pattern's limit instead (order imports)."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: Sequence[tuple[re.Pattern[str], int]] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = larger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        max_bytes = next((limit for pattern, limit in self.larger if pattern.fullmatch(path)), self.max_bytes)
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            await errors.too_large()(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > max_bytes:
                raise errors.BodyTooLarge()
            return message

        await self.app(scope, counted, send)


class BodyDeadline:
    """The whole body must arrive within `seconds` of the request's first byte, or the answer is 408: a
    client trickling a byte now and then would otherwise hold a connection for ever. Without the
    protocol's time (another ASGI server, tests' clients) the deadline runs from here.
    (The request line and headers have their own deadline in api/protocol.py.)"""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = scope.get(REQUEST_STARTED)
        deadline = (asyncio.get_running_loop().time() if started is None else started) + self.seconds
        body_done = False

        async def timed() -> Message:
            nonlocal body_done
            if body_done:  # after the body, receive() only waits for a disconnect: no deadline then
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise errors.BodyTimeout() from None
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, timed, send)


class BodyBeforeTurn:
    """Receive the whole body before the request waits for its turn (Admission): a client trickling its
    body then holds a connection only, never one of the turns every other request needs. It is held in
    memory, as the routes would have held it, and bounded by BodySizeLimit (MAX_BODY_BYTES, 64 KiB:
    what uvicorn buffers per connection anyway). Paths matching `read_in_turn` (order imports, up to
    MAX_IMPORT_BYTES) are passed on unread: their route reads the body once the caller is known to be
    staff, so an anonymous client cannot make this process hold megabytes."""

    def __init__(self, app: ASGIApp, read_in_turn: Sequence[re.Pattern[str]] = ()) -> None:
        self.app = app
        self.read_in_turn = read_in_turn

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(pattern.fullmatch(scope["path"]) for pattern in self.read_in_turn):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    errors.client_gone(scope)
                    return
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
        except errors.BodyTooLarge:  # raised by receive(), outside the app's own error handlers
            await errors.too_large()(scope, receive, send)
            return
        except errors.BodyTimeout:
            await errors.body_timeout()(scope, receive, send)
            return
        received: Message | None = {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        async def replayed() -> Message:
            nonlocal received
            if received is None:  # after the body: only a disconnect is left to wait for
                return await receive()
            message, received = received, None
            return message

        await self.app(scope, replayed, send)


class Admission:
    """At most `limit` requests of this process are worked on at once; the others wait here, before
    they hold anything (a database connection, a thread). The database pool is sized for `limit`
    (runtime.connections_needed), so no admitted request ever waits on the pool. A turn ends when
    the response starts: the route and its session are done by then (api/database.py), and a download
    streaming for minutes to a slow client must not hold one."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.turns = asyncio.Semaphore(limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.turns.acquire()
        held = True

        async def sent(message: Message) -> None:
            nonlocal held
            if held and message["type"] == "http.response.start":
                held = False
                self.turns.release()
            await send(message)

        try:
            await self.app(scope, receive, sent)
        finally:
            if held:
                self.turns.release()

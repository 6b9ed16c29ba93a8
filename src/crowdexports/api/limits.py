"""What one request may cost a process: its body's size and arrival time, and a turn among the requests
being worked on at once. ASGI middleware, outermost first in `create_app`."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crowdexports.api import errors


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
    """The whole body must arrive within `seconds` of the request's start, or the answer is 408: a
    client trickling a byte now and then would otherwise hold a turn (and a connection) for ever.
    (The request line and headers have their own deadline in api/server.py.)"""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.seconds
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


class Admission:
    """At most `limit` requests of this process are worked on at once; the others wait here, before
    they hold anything (a database connection, a thread). The database pool is sized for `limit`
    (bootstrap.connections_needed), so no admitted request ever waits on the pool. A turn ends when
    the response starts: the route and its session are done by then (api/deps.py), and a download
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

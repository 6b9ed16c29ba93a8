"""The ASGI application: routers, the one error mapping, and a cap on request bodies."""

from __future__ import annotations

import re
from collections.abc import Sequence

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crowdexports import security
from crowdexports.api import errors
from crowdexports.api.routes import downloads, exports, health, imports, oauth, sync
from crowdexports.runtime import Runtime


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


def create_app(runtime: Runtime) -> FastAPI:
    """The API over `runtime`; docs at /docs, the schema at /openapi.json."""
    app = FastAPI(
        title="crowdexports", version="1", docs_url="/docs", redoc_url=None, openapi_url="/openapi.json",
        description="Exports of a crowdfunding project's orders as csv or xlsx, made by workers and emailed.",
    )
    app.state.runtime = runtime
    app.state.verified_passwords = security.VerifiedPasswords(runtime.settings.resolved_secret_key)
    errors.install(app)
    for module in (oauth, exports, downloads, health, sync, imports):
        app.include_router(module.router)
    app.add_middleware(BodySizeLimit, max_bytes=runtime.settings.max_body_bytes,
                       larger=[(imports.IMPORT_PATH, runtime.settings.max_import_bytes)])
    return app

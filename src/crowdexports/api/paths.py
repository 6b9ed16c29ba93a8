"""One answer for both spellings of a path: with and without a trailing slash.

Starlette answers the other spelling with an empty 307 redirect, which clients that do not follow
redirects (or that drop the body of a POST when they do) take for an error. Here each request's path is
rewritten to the form the route has before anything else sees it: `/v1/exports/1/` is served as
`/v1/exports/1`, and `/oauth2/token`, whose route has its slash by contract, as `/oauth2/token/`.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send


class EitherTrailingSlash:
    def __init__(self, app: ASGIApp, slashed: Iterable[str]) -> None:
        self.app = app
        self.slashed = {path.rstrip("/") for path in slashed}  # the routes whose path ends with a slash

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            bare = path.rstrip("/")
            canonical = bare + "/" if bare in self.slashed or not bare else bare
            if canonical != path:
                raw: bytes = scope.get("raw_path") or path.encode()
                raw = raw.rstrip(b"/") + (b"/" if canonical.endswith("/") else b"")
                scope = {**scope, "path": canonical, "raw_path": raw}
        await self.app(scope, receive, send)

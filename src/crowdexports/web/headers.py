"""Security headers on every answer under /web: a Content-Security-Policy that allows scripts, styles and
requests from this origin only (no inline script or style: htmx is told not to add its own, see
base.html.j2), no framing, and no caching of pages, which show download links and CSRF tokens."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/web"
STATIC = "/web/static/"
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                           "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
ALWAYS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
PAGES = {"Cache-Control": "no-store"}  # static files keep their validators (ETag) and may be cached


def applies(path: str) -> bool:
    return path == "/" or path == PREFIX or path.startswith(PREFIX + "/")


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not applies(path):
            await self.app(scope, receive, send)
            return
        extra = ALWAYS if path.startswith(STATIC) else {**ALWAYS, **PAGES}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)

"""How the API is served: uvicorn, one process per core by default, and a deadline for clients that open
a connection and never finish a request's headers."""

from __future__ import annotations

import asyncio
import functools
import os
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from crowdexports import logs
from crowdexports.api.app import create_app
from crowdexports.bootstrap import build_service, connections_needed
from crowdexports.config import Settings
from crowdexports.runtime import Runtime


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol, closing a connection whose request line and headers are not all in
    `header_timeout` seconds after it opened or after its previous response. uvicorn only times out a
    connection idle between requests: one sending a header byte every few seconds (slowloris) would
    otherwise be held open for ever. The body has its own deadline (api/limits.py BodyDeadline)."""

    def __init__(self, *args: Any, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self.header_deadline: asyncio.TimerHandle | None = None

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

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def on_headers_complete(self) -> None:
        self._disarm_header_deadline()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        pipelined = bool(self.pipeline)  # its headers are in already: no deadline for it
        super().on_response_complete()
        if not pipelined and not self.transport.is_closing():
            self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)


def api_processes(settings: Settings, requested: int | None) -> int:
    """`--workers`, else CROWDEXPORTS_API_WORKERS, else one per core: one process uses one core."""
    return requested or settings.api_workers or os.cpu_count() or 1


def api_app() -> FastAPI:
    """The app of one API process of a multi-process `serve` (uvicorn imports and calls it in each)."""
    settings = Settings()
    logs.configure(settings.log_format, settings.log_level)
    service = build_service(settings, connections=connections_needed(settings, api=True, export_threads=0))
    return create_app(service.runtime)


def run(settings: Settings, host: str, port: int, processes: int, runtime: Runtime | None) -> None:
    """Serve until stopped: in this process over `runtime` when `processes` is 1, else in `processes`
    child processes, each building its own runtime (`api_app`), this one only supervising them."""
    options: dict[str, Any] = {
        "host": host, "port": port, "log_config": None,
        "http": functools.partial(HeaderDeadlineProtocol, header_timeout=settings.header_timeout_seconds),
        "limit_concurrency": settings.max_connections,
    }
    if processes == 1:
        assert runtime is not None
        uvicorn.run(create_app(runtime), **options)
    else:
        uvicorn.run(f"{__name__}:api_app", factory=True, workers=processes, **options)

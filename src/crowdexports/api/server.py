"""How the API is served: uvicorn, one process per core by default, with the limits of api/protocol.py on
what one client's connections may hold."""

from __future__ import annotations

import functools
import os
import socket
from typing import Any

import uvicorn
from fastapi import FastAPI

from crowdexports import logs
from crowdexports.api.app import create_app
from crowdexports.api.protocol import ConnectionsPerAddress, LimitedProtocol
from crowdexports.config import ENV_PREFIX, Settings
from crowdexports.runtime import Service, build_service, connections_needed


def api_processes(settings: Settings, requested: int | None) -> int:
    """`--workers`, else CROWDEXPORTS_API_WORKERS, else one per core: one process uses one core."""
    return requested or settings.api_workers or os.cpu_count() or 1


def check_port_free(host: str, port: int) -> None:
    """Raise OSError (EADDRINUSE, EADDRNOTAVAIL…) if uvicorn could not bind host:port, before anything starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no conflict
        probe.bind((host, port))


def api_app() -> FastAPI:
    """The app of one API process of a multi-process `serve` (uvicorn imports and calls it in each)."""
    settings = Settings()
    logs.configure(settings.log_format, settings.log_level)
    service = build_service(settings, connections=connections_needed(settings, api=True, export_threads=0))
    return create_app(service.runtime, service.tasks.dispatch_export)


def uvicorn_options(settings: Settings, host: str, port: int) -> dict[str, Any]:
    """How uvicorn serves the API: our protocol with its limits, and the connection cap. The benchmark's
    bare app (benchmarks/bare_app.py) is served with the same, so the two compare like for like."""
    return {
        "host": host, "port": port, "log_config": None,
        "http": functools.partial(LimitedProtocol, header_timeout=settings.header_timeout_seconds,
                                  max_header_bytes=settings.max_header_bytes,
                                  connections=ConnectionsPerAddress(settings.max_connections_per_address)),
        "limit_concurrency": settings.max_connections,
    }


def run(settings: Settings, host: str, port: int, processes: int, service: Service | None) -> None:
    """Serve until stopped: in this process over `service` when `processes` is 1, else in `processes`
    child processes, each building its own service (`api_app`), this one only supervising them."""
    options = uvicorn_options(settings, host, port)
    if processes == 1:
        assert service is not None
        uvicorn.run(create_app(service.runtime, service.tasks.dispatch_export), **options)
    else:
        os.environ[ENV_PREFIX + "PUBLIC_URL"] = settings.public_url  # each child reads its settings anew
        uvicorn.run(f"{__name__}:api_app", factory=True, workers=processes, **options)

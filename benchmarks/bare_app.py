"""The framework's ceiling for benchmarks/api_load.py: one `async def` FastAPI route returning constant JSON.

    python benchmarks/bare_app.py --port 8001 --workers 2

It is served exactly as `crowdexports serve` serves the API (api/server.py `run`): uvicorn with the same
HTTP protocol class (httptools, with the limits of api/protocol.py), the same connection limit and the same number
of processes, on uvloop. So the gap between this and a real route is what our code costs, not uvicorn.
"""

from __future__ import annotations

import argparse
import functools
import os
from typing import Any

import uvicorn
from fastapi import FastAPI

from crowdexports.api.protocol import ConnectionsPerAddress, LimitedProtocol
from crowdexports.config import Settings

app = FastAPI()


@app.get("/")
async def constant() -> dict[str, object]:
    return {"id": 1, "status": "succeeded", "format": "csv", "url": None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: one per core)")
    args = parser.parse_args()
    settings = Settings()  # the same CROWDEXPORTS_* knobs serve reads
    # An import string, as serve passes one for several processes: each spawned process imports the app.
    options: dict[str, Any] = {
        "host": args.host, "port": args.port, "log_config": None,
        "http": functools.partial(LimitedProtocol, header_timeout=settings.header_timeout_seconds,
                                  max_header_bytes=settings.max_header_bytes,
                                  connections=ConnectionsPerAddress(settings.max_connections_per_address)),
        "limit_concurrency": settings.max_connections,
    }
    uvicorn.run("bare_app:app", workers=args.workers, **options)


if __name__ == "__main__":
    main()

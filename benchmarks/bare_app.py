"""The framework's ceiling for benchmarks/api_load.py: one `async def` FastAPI route returning constant JSON.

    python benchmarks/bare_app.py --port 8001 --workers 2

It is served exactly as `crowdexports serve` serves the API (api/server.py `uvicorn_options`): uvicorn with
the same HTTP protocol class (httptools, with the header deadline and size cap, connections per address),
the same connection limit and the same number of processes, on uvloop. So the gap between this and a real
route is what our code costs, not uvicorn.
"""

from __future__ import annotations

import argparse
import os

import uvicorn
from fastapi import FastAPI

from crowdexports.api.server import uvicorn_options
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
    uvicorn.run("bare_app:app", workers=args.workers, **uvicorn_options(settings, args.host, args.port))


if __name__ == "__main__":
    main()

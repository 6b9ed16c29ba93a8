"""What create_app keeps on `app.state` for the routes, as dependencies: the runtime and the worker's doorbell.

They are `async`: FastAPI runs a sync dependency in a thread, and that hand-off costs more than the lookup.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from crowdexports.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_dispatch_export(request: Request) -> Callable[[int], None]:
    """The worker's doorbell for a new export (create_app's `dispatch_export`)."""
    dispatch: Callable[[int], None] = request.app.state.dispatch_export
    return dispatch


DispatchExportDep = Annotated[Callable[[int], None], Depends(get_dispatch_export)]

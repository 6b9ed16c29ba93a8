"""The ASGI application: routers, the one error mapping, and what one request may cost (api/limits.py)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI
from fastapi.routing import APIRoute

from crowdexports.api import docs, errors, openapi
from crowdexports.api.limits import Admission, BodyBeforeTurn, BodyDeadline, BodySizeLimit
from crowdexports.api.paths import EitherTrailingSlash
from crowdexports.api.routes import (
    credentials,
    downloads,
    exports,
    health,
    imports,
    oauth,
    presets,
    schedules,
    sync,
    webhooks,
)
from crowdexports.auth.passwords import BasicPasswords, PasswordChecks
from crowdexports.auth.throttle import Throttle
from crowdexports.runtime import Runtime
from crowdexports.web import install as web


def create_app(runtime: Runtime, dispatch_export: Callable[[int], None]) -> FastAPI:
    """The API over `runtime`, ringing `dispatch_export` for each export it creates (the queue's
    `Tasks.dispatch_export`); docs at /docs (api/docs.py), the schema at /openapi.json."""
    throttle = Throttle(runtime.settings, runtime.clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A thread for every admitted request (sync routes, PostgreSQL reads): none waits for one.
        limiter = to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens, runtime.settings.api_concurrency)
        # Everything loaded at start (modules, the app, compiled statements) stays for the process's
        # life: out of the garbage collector's generations, full collections do not walk it again.
        gc.collect()
        gc.freeze()
        yield
        throttle.close()

    app = FastAPI(
        title="crowdexports", version="1", docs_url=None, redoc_url=None, openapi_url="/openapi.json",
        description="Exports of a crowdfunding project's orders as csv or xlsx, made by workers and emailed.",
        lifespan=lifespan, redirect_slashes=False,
    )
    app.state.runtime = runtime
    app.state.dispatch_export = dispatch_export
    app.state.throttle = throttle
    app.state.password_checks = PasswordChecks(runtime.settings, throttle)
    app.state.basic_passwords = BasicPasswords(runtime.settings.resolved_secret_key, app.state.password_checks)
    errors.install(app)
    routers = [module.router for module in (oauth, exports, presets, schedules, downloads, health, sync, credentials,
                                            imports, webhooks)]
    openapi.install(app, routers)
    for router in routers:
        app.include_router(router)
    docs.install(app, "/openapi.json")
    web.install(app)  # the owner's web page (web/): HTML routes outside the OpenAPI document
    settings = runtime.settings
    # Each add_middleware wraps the ones before: a body is refused when too large or late (its deadline
    # runs from the request's first byte) and received whole before the request waits for a turn.
    app.add_middleware(Admission, limit=settings.api_concurrency)
    app.add_middleware(BodyBeforeTurn, read_in_turn=[imports.IMPORT_PATH])
    app.add_middleware(BodyDeadline, seconds=settings.body_timeout_seconds)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes,
                       larger=[(imports.IMPORT_PATH, settings.max_import_bytes)])
    app.add_middleware(EitherTrailingSlash, slashed=[route.path for router in routers for route in router.routes
                                                     if isinstance(route, APIRoute) and route.path.endswith("/")])
    return app

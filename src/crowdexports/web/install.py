"""The web page inside the API's app: its routers (none in the OpenAPI document), its static files, its
HTML error pages and its security headers."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from crowdexports.web import errors
from crowdexports.web.headers import SecurityHeaders
from crowdexports.web.pages import language, not_found, owner_exports, projects, schedules, signin, staff, webhooks
from crowdexports.web.rendering import STATIC_PREFIX

STATIC_DIR = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    errors.install(app)
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="web-static")
    # not_found last: it takes any other /web path.
    for module in (signin, language, projects, schedules, owner_exports, staff, webhooks, not_found):
        app.include_router(module.router)
    app.add_middleware(SecurityHeaders)

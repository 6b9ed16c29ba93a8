"""Who is looking at a page: the session behind the request's cookie, as a dependency of every page
but sign-in, and the checks of the forms a signed-in visitor posts."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from crowdexports.runtime import Runtime
from crowdexports.web import csrf, sessions
from crowdexports.web.errors import FormExpired, SignInRequired
from crowdexports.web.sessions import SignedIn


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def session_token(request: Request) -> str:
    return request.cookies.get(sessions.COOKIE, "")


def find_signed_in(request: Request) -> SignedIn | None:
    """The live session of the request, kept on `request.state` for the error pages. Blocking (it may
    note the visit): called in a thread."""
    token = session_token(request)
    if not token:
        return None
    with runtime_of(request).sessions() as session:
        found = sessions.find(session, token)
    request.state.signed_in = found
    return found


def signed_in(request: Request) -> SignedIn:
    """Every page but sign-in depends on this: no session, no page (a sync dependency: FastAPI runs it in
    a thread, since it may write)."""
    found = find_signed_in(request)
    if found is None:
        raise SignInRequired(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    return found


SignedInDep = Annotated[SignedIn, Depends(signed_in)]


def csrf_token(request: Request, signed: SignedIn) -> str:
    """The token every form of a signed-in page carries."""
    return csrf.token(runtime_of(request).settings.resolved_secret_key, "session", signed.token)


def check_form(request: Request, signed: SignedIn, form: FormData) -> None:
    """A form that changes something must carry the session's token."""
    secret = runtime_of(request).settings.resolved_secret_key
    if not csrf.valid(secret, "session", signed.token, form.get(csrf.FIELD)):
        raise FormExpired()


def local_path(raw: object, default: str) -> str:
    """A page of this site to go back to (never another site: `//evil.example` is refused)."""
    if isinstance(raw, str) and raw.startswith("/web") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return default

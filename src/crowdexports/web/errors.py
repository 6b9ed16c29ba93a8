"""What the page answers when a request cannot go on: the pages' own exceptions, answered as HTML here
(api/errors.py answers the API's in JSON and never sees these)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from sqlalchemy.exc import OperationalError
from starlette.responses import RedirectResponse, Response

from crowdexports.api import errors as api_errors
from crowdexports.errors import Unavailable
from crowdexports.web import csrf, i18n
from crowdexports.web.rendering import page
from crowdexports.web.sessions import SignedIn

PAGES_PREFIX = "/web"
SIGNIN_PATH = "/web/signin"
logger = logging.getLogger(__name__)


class PageNotFound(Exception):
    """Nothing here for this visitor: a missing project and another owner's answer the same page."""


class SignInRequired(Exception):
    """No live session: to the sign-in page, and back to `next` after it."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class FormExpired(Exception):
    """A form whose CSRF token does not match its cookie: an old tab, or another site posting."""


def page_lang(request: Request) -> str:
    """The signed-in visitor's page language, else the browser's."""
    signed: SignedIn | None = getattr(request.state, "signed_in", None)
    return signed.lang if signed else i18n.from_accept_language(request.headers.get("accept-language", ""))


def signin_url(next_path: str) -> str:
    return f"{SIGNIN_PATH}?next={quote(next_path, safe='/')}"


def _error_page(request: Request, template: str, status: int) -> Response:
    """The page, with the navigation of a signed-in visitor when the request had a session."""
    signed: SignedIn | None = getattr(request.state, "signed_in", None)
    secret = request.app.state.runtime.settings.resolved_secret_key
    return page(template, page_lang(request), status=status, signed=signed, path=request.url.path,
                csrf_token=csrf.token(secret, "session", signed.token) if signed else "")


async def _not_found(request: Request, exc: Exception) -> Response:
    return _error_page(request, "not_found.html.j2", 404)


async def _sign_in(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    target = signin_url(exc.next_path)
    if request.headers.get("hx-request"):  # a live part of a page whose session ended: the whole page goes
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


async def _form_expired(request: Request, exc: Exception) -> Response:
    return _error_page(request, "form_expired.html.j2", 403)


def _unavailable_on_pages(api_answer: Callable[[Request, Exception], Response]
                          ) -> Callable[[Request, Exception], Response]:
    """The database or the storage is down: a page says so in its language (and the answer may be
    retried); the API's routes keep their JSON envelope."""
    def answer(request: Request, exc: Exception) -> Response:
        if not request.url.path.startswith(PAGES_PREFIX):
            return api_answer(request, exc)
        logger.warning("unavailable on %s %s: %s", request.method, request.url.path, exc)
        response = _error_page(request, "unavailable.html.j2", 503)
        response.headers.update(api_errors.RETRY_SOON)
        return response
    return answer


def install(app: FastAPI) -> None:
    """After api/errors.py's: the handlers for a backing service that is down replace the API's, and hand
    the API's own requests back to them."""
    app.add_exception_handler(OperationalError, _unavailable_on_pages(api_errors.database_down))
    app.add_exception_handler(Unavailable, _unavailable_on_pages(api_errors.domain_error))
    app.add_exception_handler(PageNotFound, _not_found)
    app.add_exception_handler(SignInRequired, _sign_in)
    app.add_exception_handler(FormExpired, _form_expired)

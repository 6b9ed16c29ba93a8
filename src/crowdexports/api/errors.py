"""THE mapping from errors to HTTP answers; nowhere else turns an error into a status code.

Every error body is `{"errors": [{"classification", "fieldNames", "message"}, ...]}` (SPEC §2).
The token endpoint's errors add RFC 6749's `error` and `error_description` to that same body, since
those are what OAuth client libraries read; one body serves both kinds of client. That holds for its
429 and 503 too (OAUTH_CODES), which no OAuth error of ours raises: they come from the rate limits and
the database. The OpenAPI document of these answers is api/openapi.py's.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import Scope

from crowdexports.auth.accounts import OAuthError
from crowdexports.errors import (
    AuthenticationFailed,
    Conflict,
    CrowdexportsError,
    FieldProblem,
    Forbidden,
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
    RangeNotSatisfiable,
    RateLimited,
    Unavailable,
)

logger = logging.getLogger(__name__)

CLASSIFICATIONS = {
    400: "ValueError", 401: "AuthenticationError", 403: "PermissionError", 404: "NotFoundError",
    405: "MethodNotAllowedError", 408: "RequestTimeoutError", 409: "ConflictError", 413: "PayloadTooLargeError",
    415: "UnsupportedMediaTypeError", 416: "RangeNotSatisfiableError", 422: "IdempotencyError", 429: "RateLimitError",
    431: "RequestHeaderFieldsTooLargeError", 500: "ServerError", 503: "ServiceUnavailableError",
}
DOMAIN_STATUS: Sequence[tuple[type[CrowdexportsError], int]] = (
    (NotFound, 404), (Forbidden, 403), (Conflict, 409), (AuthenticationFailed, 401),
)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
RETRY_SOON = {"Retry-After": "5"}
OAUTH_PATHS = "/oauth2/"
# RFC 6749 error codes for the answers under OAUTH_PATHS that are not OAuthErrors. `slow_down` (RFC 8628
# §3.5, registered for token endpoint responses) says what a rate limit means: the same request will work
# later. `invalid_grant` would make a client drop its refresh token, `invalid_request` call its request
# malformed and never retry it (docs/decisions.md "API").
OAUTH_CODES = {429: "slow_down", 503: "temporarily_unavailable", 500: "server_error"}


class BodyTooLarge(Exception):
    """The request body passed settings.max_body_bytes (raised while it is being read)."""


class BodyTimeout(Exception):
    """The request body did not all arrive within settings.body_timeout_seconds (api/limits.py)."""


def client_error(classification: str, message: str, field_names: Sequence[str] = ()) -> dict[str, Any]:
    return {"classification": classification, "fieldNames": list(field_names), "message": message}


def error_response(status: int, message: str, headers: dict[str, str] | None = None,
                   request: Request | None = None) -> JSONResponse:
    """A one-entry error answer whose classification follows from the status; with RFC 6749's fields
    when it answers a `request` to the OAuth endpoints."""
    body: dict[str, Any] = {"errors": [client_error(CLASSIFICATIONS.get(status, "ServerError"), message)]}
    if request is not None and request.url.path.startswith(OAUTH_PATHS) and status in OAUTH_CODES:
        body.update(error=OAUTH_CODES[status], error_description=message)
    return JSONResponse(body, status_code=status, headers=headers)


def _problems(problems: Sequence[FieldProblem]) -> JSONResponse:
    errors = [client_error(p.classification, p.message, p.field_names) for p in problems]
    return JSONResponse({"errors": errors}, status_code=400)


def _oauth(exc: OAuthError) -> JSONResponse:
    """RFC 6749 §5.2: invalid_client is 401 with a Basic challenge, every other error 400."""
    status = 401 if exc.error == "invalid_client" else 400
    headers = dict(NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="oauth2"'
    classification = "AuthenticationError" if status == 401 else "ValueError"
    body = {"error": exc.error, "error_description": exc.description,
            "errors": [client_error(classification, exc.description, exc.field_names)]}
    return JSONResponse(body, status_code=status, headers=headers)


def domain_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, InvalidInput):
        return _problems(exc.problems)
    if isinstance(exc, OAuthError):
        return _oauth(exc)
    if isinstance(exc, AuthenticationFailed):
        return error_response(401, str(exc), {"WWW-Authenticate": exc.challenge})
    if isinstance(exc, RateLimited):
        return error_response(429, str(exc), {"Retry-After": str(exc.retry_after)}, request)
    if isinstance(exc, RangeNotSatisfiable):
        return error_response(416, str(exc), {"Content-Range": f"bytes */{exc.size}"})
    if isinstance(exc, Unavailable):
        return error_response(503, str(exc), RETRY_SOON, request)
    if isinstance(exc, IdempotencyKeyReused):
        return JSONResponse({"errors": [client_error(CLASSIFICATIONS[422], str(exc), ["Idempotency-Key"])]},
                            status_code=422)
    for error_class, status in DOMAIN_STATUS:
        if isinstance(exc, error_class):
            return error_response(status, str(exc))
    return _unexpected(request, exc)


@lru_cache(maxsize=256)
def _path_pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(template)))


def _allowed_methods(request: Request, fallback: str) -> str:
    """Every method the API takes at this path, read from its OpenAPI paths: Starlette's own Allow
    names only the first route matching the path, though GET and POST are separate routes."""
    paths: dict[str, dict[str, Any]] = request.app.openapi()["paths"]
    methods = {method.upper() for template, operations in paths.items()
               if _path_pattern(template).fullmatch(request.url.path) for method in operations}
    return ", ".join(sorted(methods)) or fallback


def _http(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own errors: unknown route (404), wrong method (405 with Allow), and api-layer 415."""
    assert isinstance(exc, HTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "Request refused."
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        message = "No such resource."
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request, headers.get("Allow", ""))
    return error_response(exc.status_code, message, headers)


def _classify(error_type: str) -> str:
    if error_type == "missing":
        return "RequiredError"
    if error_type == "extra_forbidden":
        return "UnknownFieldError"
    if error_type in ("json_invalid", "model_attributes_type"):
        return "DeserializationError"
    return "TypeError" if error_type.endswith("_type") else "ValueError"


def _validation(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own parameter validation, answered 400 like ours (not its default 422)."""
    assert isinstance(exc, RequestValidationError)
    problems = [
        FieldProblem([str(part) for part in error["loc"][1:]], error["msg"], _classify(error["type"]))
        for error in exc.errors()
    ]
    return _problems(problems)


def database_down(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    return error_response(503, "The service is unavailable for a moment; try again.", RETRY_SOON, request)


def _too_large(request: Request, exc: Exception) -> JSONResponse:
    return too_large()


def too_large() -> JSONResponse:
    return error_response(413, "The request body is too large.", {"Connection": "close"})


def _body_timeout(request: Request, exc: Exception) -> JSONResponse:
    return body_timeout()


def body_timeout() -> JSONResponse:
    return error_response(408, "The request body did not arrive in time.", {"Connection": "close"})


def headers_too_large(max_bytes: int) -> JSONResponse:
    """Answered by the protocol (api/protocol.py), before the request reaches the app."""
    return error_response(431, f"The request line and headers are over {max_bytes} bytes.", {"Connection": "close"})


def client_gone(scope: Scope) -> None:
    """A client that closed its connection before its request was read (uvicorn gives no body, not even
    an empty one, once the client has gone): nobody to answer, and nothing of ours failed."""
    client = scope.get("client")
    logger.info("client %s disconnected before its request was read: %s %s",
                client[0] if client else "-", scope["method"], scope["path"])


def _client_gone(request: Request, exc: Exception) -> JSONResponse:
    """A body read by a route (order imports) whose client went away; the answer is never sent."""
    client_gone(request.scope)
    return error_response(400, "The client disconnected.")


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    """A bug: logged with its traceback, answered with nothing about it."""
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "Internal server error.", request=request)


def install(app: FastAPI) -> None:
    app.add_exception_handler(CrowdexportsError, domain_error)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(OperationalError, database_down)
    app.add_exception_handler(BodyTooLarge, _too_large)
    app.add_exception_handler(BodyTimeout, _body_timeout)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(Exception, _unexpected)

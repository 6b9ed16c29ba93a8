"""The error answers of the OpenAPI document, in one place: what each operation can answer besides success.

An operation's error statuses are found, not listed by hand: those of every dependency and of the
endpoint itself, marked with `answers(...)` where the error is raised (a caller is 401, 429 or 503, a
staff check 403, a JSON body 400 or 415), 404 for a path with an id (`parameters.parse_id`), and what the
middleware answers to any request. A new route that uses the usual dependencies is documented as it is
written; tests/api/test_openapi_contract.py checks the document against the answers. Each status gets
the error envelope (SPEC §2) unless the route documents a body of its own (the token endpoint's RFC 6749
fields, /healthz's report). FastAPI's 422 is taken out: api/errors.py answers invalid input with 400 (the one
422 is a reused Idempotency-Key's, which its route documents).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from crowdexports.api.schemas import ErrorBody
from crowdexports.rules.kinds import MAX_ID

F = TypeVar("F", bound=Callable[..., Any])
REF = "#/components/schemas/"
MARK = "__error_statuses__"
# Answers to any request, whatever its route: the middleware's (api/limits.py) to a body too large (413)
# or too slow (408), and the protocol's (api/protocol.py) to request headers over their limit (431).
EVERY_OPERATION = (408, 413, 431)
ID_IN_PATH = 404  # parameters.parse_id: a path id that names nothing
CALLER = (401, 429, 503)  # who is calling: no or bad credentials, their rate limit, the database down
HEADERS = {
    401: {"WWW-Authenticate": "The authentication scheme to use (RFC 9110 §11.6.1)."},
    429: {"Retry-After": "Whole seconds to wait before trying again."},
    503: {"Retry-After": "Whole seconds to wait before trying again."},
}
FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")


def answers(*statuses: int) -> Callable[[F], F]:
    """Mark a dependency or an endpoint with the error statuses it can answer."""
    def mark(function: F) -> F:
        setattr(function, MARK, frozenset(statuses))
        return function
    return mark


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    """Every callable of a route's dependency tree: FastAPI internals (pinned; tests/test_private_apis.py)."""
    if dependant.call is not None:
        yield dependant.call
    for dependency in dependant.dependencies:
        yield from _calls(dependency)


def error_statuses(route: APIRoute) -> set[int]:
    statuses = set(EVERY_OPERATION)
    for call in _calls(route.dependant):
        statuses |= getattr(call, MARK, frozenset())
    if route.param_convertors:
        statuses.add(ID_IN_PATH)
    return statuses


def _headers(status: int) -> dict[str, Any]:
    return {name: {"description": description, "required": True, "schema": {"type": "string"}}
            for name, description in HEADERS.get(status, {}).items()}


def document(routers: Iterable[APIRouter]) -> None:
    """Add each route's error answers to its `responses`, with the envelope as their body unless the route
    documents one of its own, and their headers: before the routers are included in an app, which may
    copy their routes."""
    envelope = {"application/json": {"schema": {"$ref": f"{REF}ErrorBody"}}}
    for router in routers:
        for route in router.routes:
            if isinstance(route, APIRoute):
                for error in error_statuses(route):
                    route.responses.setdefault(error, {"description": HTTPStatus(error).phrase, "content": envelope})
                for status, answer in route.responses.items():
                    if int(status) in HEADERS:
                        answer["headers"] = _headers(int(status))


def _exact_bounds(node: Any) -> None:
    """FastAPI's OpenAPI model types `minimum`/`maximum` as floats, which cannot hold the BIGINT ids' bound
    exactly (2**63 - 1 becomes 9.223372036854776e+18): put MAX_ID back wherever it was rounded."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("minimum", "maximum") and isinstance(value, float) and value == float(MAX_ID):
                node[key] = MAX_ID
            else:
                _exact_bounds(value)
    elif isinstance(node, list):
        for value in node:
            _exact_bounds(value)


def _finish(schema: dict[str, Any]) -> dict[str, Any]:
    """The envelope's schema in the components, the ids' exact bound, and FastAPI's 422, which is never
    sent, out."""
    _exact_bounds(schema)
    definitions = schema.setdefault("components", {}).setdefault("schemas", {})
    envelope = ErrorBody.model_json_schema(ref_template=REF + "{model}")
    definitions.update(envelope.pop("$defs"), ErrorBody=envelope)
    for name in FASTAPI_VALIDATION:
        definitions.pop(name, None)
    for operations in schema["paths"].values():
        for operation in operations.values():
            if "HTTPValidationError" in str(operation["responses"].get("422", {})):  # a route's own 422 stays
                operation["responses"].pop("422")
    return schema


def install(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    """Document the error answers of `routers`' routes in the app's OpenAPI document (/openapi.json, /docs);
    call it before including them."""
    document(routers)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        return _finish(generate())  # FastAPI's own is cached: finishing it again changes nothing

    # Replacing the method is FastAPI's documented way to extend its OpenAPI document.
    app.openapi = openapi  # type: ignore[method-assign]

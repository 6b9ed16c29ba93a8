"""Request bodies: the one check of a declared media type, and JSON objects decoded as dependencies.

A body is read only once the request declares its media type; the JSON dependencies answer 415 when it
is not JSON and 400 DeserializationError when it is not one JSON object.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.exceptions import HTTPException

from crowdexports.api.openapi import answers
from crowdexports.errors import FieldProblem, InvalidInput
from crowdexports.rules.decoding import decode_json

JSON = "application/json"


def declares_media_type(request: Request, media_type: str) -> bool:
    """Whether Content-Type names `media_type` (in any case; its parameters, such as charset, aside)."""
    return request.headers.get("content-type", "").partition(";")[0].strip().lower() == media_type


async def typed_body(request: Request, media_type: str, what: str) -> bytes:
    """The body, if declared as `media_type`; 415 otherwise, saying it must be `what`."""
    if not declares_media_type(request, media_type):
        raise HTTPException(415, f"The body must be {what}, sent with Content-Type: {media_type}.")
    return await request.body()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _undecodable(message: str) -> InvalidInput:
    return InvalidInput([FieldProblem([], message, "DeserializationError")])


def _plain_json(text: str) -> Any:
    return json.loads(text, parse_constant=_reject_constant)


async def _json_object(request: Request, decode: Callable[[str], Any]) -> dict[str, Any]:
    """The body as a JSON object: 415 unless declared JSON, 400 DeserializationError unless it is one."""
    body = await typed_body(request, JSON, "JSON")
    try:
        payload = decode(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _undecodable("The body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise _undecodable("The body must be a JSON object.")
    return payload


@answers(400, 415)
async def json_object(request: Request) -> dict[str, Any]:
    return await _json_object(request, _plain_json)


@answers(400, 415)
async def optional_json_object(request: Request) -> dict[str, Any]:
    """Like json_object, for a body that may be left out: none is {}."""
    if not await request.body():
        return {}
    return await _json_object(request, _plain_json)


@answers(400, 415)
async def exact_json_object(request: Request) -> dict[str, Any]:
    """Like json_object, with every non-integer number an exact Decimal: for bodies with amounts."""
    return await _json_object(request, decode_json)


JsonObject = Annotated[dict[str, Any], Depends(json_object)]
OptionalJsonObject = Annotated[dict[str, Any], Depends(optional_json_object)]
ExactJsonObject = Annotated[dict[str, Any], Depends(exact_json_object)]

"""`POST /oauth2/token/`: the password and refresh-token grants of RFC 6749 (SPEC §2).

Errors carry RFC 6749 §5.2's `error`/`error_description` (see api/errors.py). The requested `scope`
is ignored, as §3.3 allows: every token is "read write", and the answer says so.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any
from urllib.parse import parse_qs, unquote_plus

from fastapi import APIRouter, Depends, Request, Response

from crowdexports.api.bodies import declares_media_type
from crowdexports.api.database import SessionDep
from crowdexports.api.errors import NO_STORE
from crowdexports.api.schemas import OAuthErrorBody, TokenOut
from crowdexports.api.state import RuntimeDep
from crowdexports.auth import accounts
from crowdexports.auth.accounts import OAuthError
from crowdexports.auth.passwords import PasswordChecks
from crowdexports.auth.throttle import Throttle, address_of

router = APIRouter(tags=["oauth2"])
FORM = "application/x-www-form-urlencoded"
TOKEN_BODY = {"requestBody": {"required": True, "content": {FORM: {"schema": {
    "type": "object", "required": ["grant_type"],
    "properties": {name: {"type": "string"} for name in (
        "grant_type", "username", "password", "refresh_token", "client_id", "client_secret")},
}}}}}


@dataclass(frozen=True)
class TokenRequest:
    params: dict[str, str]
    client_id: str
    client_secret: str

    def require(self, name: str) -> str:
        value = self.params.get(name)
        if not value:
            raise OAuthError("invalid_request", f"The {name} parameter is required.", [name])
        return value


def _basic_client(header: str) -> tuple[str, str] | None:
    """Client credentials from HTTP Basic; RFC 6749 §2.3.1 form-encodes them before base64."""
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_client", "Client authentication failed.") from None
    client_id, _, client_secret = decoded.partition(":")
    return unquote_plus(client_id), unquote_plus(client_secret)


async def token_request(request: Request) -> TokenRequest:
    """The form body, once each parameter (§3.2), and the client's credentials from exactly one place."""
    if not declares_media_type(request, FORM):
        raise OAuthError("invalid_request", f"The body must be {FORM}.")
    try:
        parsed = parse_qs((await request.body()).decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise OAuthError("invalid_request", "The body is not valid UTF-8.") from None
    repeated = sorted(name for name, values in parsed.items() if len(values) > 1)
    if repeated:
        raise OAuthError("invalid_request", "Parameters must not be repeated.", repeated)
    params = {name: values[0] for name, values in parsed.items()}
    from_header = _basic_client(request.headers.get("authorization", ""))
    in_body = "client_id" in params or "client_secret" in params
    if from_header and in_body:
        raise OAuthError("invalid_request", "Authenticate the client in one way only.")
    if from_header is None and not in_body:
        raise OAuthError("invalid_client", "Client authentication is required.")
    client_id, client_secret = from_header or (params.get("client_id", ""), params.get("client_secret", ""))
    return TokenRequest(params, client_id, client_secret)


async def throttled_token_request(request: Request,
                                  form: Annotated[TokenRequest, Depends(token_request)]) -> TokenRequest:
    """Counted against the caller's address before any check (auth/throttle.py), whatever the answer."""
    throttle: Throttle = request.app.state.throttle
    await throttle.token_request(address_of(request))
    return form


@router.post("/oauth2/token/", response_model=TokenOut, openapi_extra=TOKEN_BODY,
             responses={status: {"model": OAuthErrorBody} for status in (400, 401, 429, 503)})
def token(form: Annotated[TokenRequest, Depends(throttled_token_request)], session: SessionDep, runtime: RuntimeDep,
          request: Request, response: Response) -> dict[str, Any]:
    """Trade a username and password, or a refresh token (used once), for a new token pair."""
    client = accounts.authenticate_client(session, form.client_id, form.client_secret)
    throttle: Throttle = request.app.state.throttle
    throttle.authenticated_token_request(form.client_id)
    grant_type, settings = form.require("grant_type"), runtime.settings
    response.headers.update(NO_STORE)
    if grant_type == "password":
        username, password = form.require("username"), form.require("password")
        checks: PasswordChecks = request.app.state.password_checks
        verify = partial(checks.verify, username=username, address=address_of(request))
        return accounts.password_grant(session, client, username, password, settings, verify)
    if grant_type == "refresh_token":
        return accounts.refresh_grant(session, client, form.require("refresh_token"), settings)
    raise OAuthError("unsupported_grant_type", f"Grant type {grant_type[:40]!r} is not supported.",
                     ["grant_type"])

"""The page's cookies: HttpOnly, SameSite=Lax, under /web only, and Secure when users reach the service
over https (`CROWDEXPORTS_PUBLIC_URL`)."""

from __future__ import annotations

from starlette.responses import Response

from crowdexports.config import Settings
from crowdexports.web import csrf, sessions


def _secure(settings: Settings) -> bool:
    return settings.public_url.lower().startswith("https://")


def _set(response: Response, name: str, value: str, settings: Settings, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path=sessions.COOKIE_PATH, httponly=True, samesite="lax",
                        secure=_secure(settings))


def set_session(response: Response, token: str, settings: Settings) -> None:
    """No Max-Age: the database decides when a session ends, and closing the browser ends the cookie."""
    _set(response, sessions.COOKIE, token, settings, None)


def clear_session(response: Response, settings: Settings) -> None:
    response.delete_cookie(sessions.COOKIE, path=sessions.COOKIE_PATH, httponly=True, samesite="lax",
                           secure=_secure(settings))


def set_signin(response: Response, value: str, settings: Settings) -> None:
    _set(response, csrf.SIGNIN_COOKIE, value, settings, csrf.SIGNIN_COOKIE_SECONDS)


def clear_signin(response: Response, settings: Settings) -> None:
    response.delete_cookie(csrf.SIGNIN_COOKIE, path=sessions.COOKIE_PATH, httponly=True, samesite="lax",
                           secure=_secure(settings))

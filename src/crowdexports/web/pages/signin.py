"""Signing in and out. The password is checked as the API checks it (`auth/passwords.py`
`PasswordChecks`: argon2 bounded per process, failed checks rate limited per username and address, 429
before any hash once a budget is spent), for active users only."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from crowdexports.api.database import hot_reads, in_database
from crowdexports.auth import credentials
from crowdexports.auth.passwords import PasswordChecks
from crowdexports.auth.throttle import address_of
from crowdexports.errors import RateLimited
from crowdexports.web import cookies, csrf, i18n, sessions
from crowdexports.web.current import SignedInDep, check_form, find_signed_in, local_path, runtime_of
from crowdexports.web.errors import SIGNIN_PATH
from crowdexports.web.rendering import page

router = APIRouter(include_in_schema=False)
HOME = "/web/projects"


def _form(request: Request, lang: str, next_path: str, *, chosen_lang: str = "", username: str = "",
          problem: str = "", retry_after: int = 0, status: int = 200) -> Response:
    """The sign-in form, with a pre-session cookie its CSRF token is bound to (kept if the browser has one)."""
    settings = runtime_of(request).settings
    bound_to = request.cookies.get(csrf.SIGNIN_COOKIE) or credentials.new_token()
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    response = page("signin.html.j2", lang, status=status, headers=headers, signed=None, path=SIGNIN_PATH,
                    csrf_token=csrf.token(settings.resolved_secret_key, "signin", bound_to), next_path=next_path,
                    chosen_lang=chosen_lang, username=username, problem=problem, retry_after=retry_after)
    cookies.set_signin(response, bound_to, settings)
    return response


@router.get(SIGNIN_PATH)
async def signin_page(request: Request, next: str = HOME, lang: str = "") -> Response:
    """`lang` is the switch of a visitor not signed in: a link, carried into the session by the form."""
    if await run_in_threadpool(find_signed_in, request) is not None:
        return RedirectResponse(local_path(next, HOME), status_code=303)
    chosen = i18n.supported(lang) if lang else ""
    shown = chosen or i18n.from_accept_language(request.headers.get("accept-language", ""))
    return _form(request, shown, local_path(next, HOME), chosen_lang=chosen)


@router.post(SIGNIN_PATH)
async def sign_in(request: Request) -> Response:
    runtime = runtime_of(request)
    form = await request.form()
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    chosen = i18n.supported(str(form["lang"])) if form.get("lang") else ""
    lang = chosen or i18n.from_accept_language(request.headers.get("accept-language", ""))
    next_path = local_path(form.get("next"), HOME)
    if not csrf.valid(runtime.settings.resolved_secret_key, "signin", request.cookies.get(csrf.SIGNIN_COOKIE),
                      form.get(csrf.FIELD)):
        return _form(request, lang, next_path, chosen_lang=chosen, username=username, problem="expired", status=400)
    async with hot_reads(runtime) as reads:
        user, password_hash = await in_database(runtime, credentials.user_and_password_hash, reads, username)
    checks: PasswordChecks = request.app.state.password_checks
    try:
        matched = await run_in_threadpool(checks.verify, password, password_hash, username=username,
                                          address=address_of(request))
    except RateLimited as limited:
        return _form(request, lang, next_path, chosen_lang=chosen, username=username, problem="throttled",
                     retry_after=limited.retry_after, status=429)
    if not matched or user is None:
        return _form(request, lang, next_path, chosen_lang=chosen, username=username, problem="wrong", status=400)

    def start() -> str:
        with runtime.sessions() as session:
            return sessions.start(session, user, password_hash, chosen or i18n.supported(user.lang))

    response = RedirectResponse(next_path, status_code=303)
    cookies.set_session(response, await run_in_threadpool(start), runtime.settings)
    cookies.clear_signin(response, runtime.settings)
    return response


@router.post("/web/signout")
async def sign_out(request: Request, signed: SignedInDep) -> Response:
    runtime = runtime_of(request)
    check_form(request, signed, await request.form())

    def end() -> None:
        with runtime.sessions() as session:
            sessions.end(session, signed.session_id)

    await run_in_threadpool(end)
    response = RedirectResponse(SIGNIN_PATH, status_code=303)
    cookies.clear_session(response, runtime.settings)
    return response

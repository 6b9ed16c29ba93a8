"""The language switch of a signed-in visitor: remembered on the session (not `users.lang`, which the
platform syncs and which chooses the language of the export emails and default headers)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from crowdexports.web import i18n, sessions
from crowdexports.web.current import SignedInDep, check_form, local_path, runtime_of

router = APIRouter(include_in_schema=False)


@router.post("/web/language")
async def switch_language(request: Request, signed: SignedInDep) -> Response:
    form = await request.form()
    check_form(request, signed, form)
    lang = i18n.supported(str(form.get("lang", "")))

    def switch() -> None:
        with runtime_of(request).sessions() as session:
            sessions.switch_language(session, signed.session_id, lang)

    await run_in_threadpool(switch)
    return RedirectResponse(local_path(form.get("next"), "/web/projects"), status_code=303)

"""The owner's "Webhooks" page (issue 17): their endpoints, each one's state and latest attempts, a form to
register one (its secret shown once, on the answer itself, never in a URL) and a button to delete one. The
rules and the cap are the API's own (webhooks.endpoints); staff see only their own endpoints, as in the API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from crowdexports.errors import Conflict, InvalidInput, NotFound
from crowdexports.models import Project, WebhookEndpoint
from crowdexports.web.current import SignedInDep, check_form, csrf_token, runtime_of
from crowdexports.web.errors import PageNotFound
from crowdexports.web.rendering import page
from crowdexports.web.sessions import SignedIn
from crowdexports.webhooks import endpoints
from crowdexports.webhooks.resources import attempt_resource, endpoint_resource
from crowdexports.webhooks.rules import EVENTS

router = APIRouter(include_in_schema=False)
PATH = "/web/webhooks"
ATTEMPTS_SHOWN = 5  # the latest of each endpoint; the API lists up to endpoints.MAX_ATTEMPTS_LISTED


def _listing(request: Request, signed: SignedIn) -> dict[str, Any]:
    with runtime_of(request).sessions() as session:
        listed = [{**endpoint_resource(endpoint),
                   "attempts": [attempt_resource(attempt, delivery)
                                for attempt, delivery in endpoints.list_attempts(session, endpoint)[:ATTEMPTS_SHOWN]]}
                  for endpoint in endpoints.list_endpoints(session, signed.user)]
        projects = dict(session.execute(
            select(Project.id, Project.name).where(Project.owner_id == signed.user.id)
            .order_by(Project.name, Project.id)).all())
    return {"webhook_endpoints": listed, "projects": projects}


async def _render(request: Request, signed: SignedIn, *, status: int = 200, **context: Any) -> Response:
    listing = await run_in_threadpool(_listing, request, signed)
    context = {"created": None, "problems": [], "posted": {}, "notice": None, **context}
    return page("webhooks.html.j2", signed.lang, status=status, signed=signed, csrf_token=csrf_token(request, signed),
                path=PATH, events=EVENTS, **listing, **context)


@router.get(PATH)
async def webhooks_page(request: Request, signed: SignedInDep, notice: str | None = None) -> Response:
    return await _render(request, signed, notice=notice if notice == "deleted" else None)


def _body(form: FormData) -> dict[str, object]:
    """The API's body from the form: a project id only when one is chosen ("" is all of the owner's)."""
    project = str(form.get("project_id", ""))
    return {"url": str(form.get("url", "")), "events": [str(event) for event in form.getlist("event")],
            **({"project_id": int(project) if project.isdigit() else project} if project else {})}


@router.post(PATH)
async def register_endpoint(request: Request, signed: SignedInDep) -> Response:
    """Through the API's `create_endpoint`; the answer is the page with the secret, shown this once (a
    reload asks the browser to send the form again, which makes another endpoint with another secret)."""
    form = await request.form()
    check_form(request, signed, form)
    runtime = runtime_of(request)
    body = _body(form)

    def create() -> WebhookEndpoint:
        with runtime.sessions() as session:
            return endpoints.create_endpoint(session, body, signed.user,
                                             allow_private=runtime.settings.webhooks_allow_private_addresses,
                                             most=runtime.settings.max_webhook_endpoints_per_owner)

    try:
        endpoint = await run_in_threadpool(create)
    except InvalidInput as refused:
        problems = [f"{'.'.join(problem.field_names)}: {problem.message}" for problem in refused.problems]
        return await _render(request, signed, status=400, problems=problems, posted=body)
    except Conflict as refused:
        return await _render(request, signed, status=409, problems=[str(refused)], posted=body)
    return await _render(request, signed, status=201, created={"id": endpoint.id, "url": endpoint.url,
                                                               "secret": endpoint.secret})


@router.post(PATH + "/{endpoint_id}/delete")
async def delete_endpoint(request: Request, endpoint_id: str, signed: SignedInDep) -> Response:
    """Its owner only; anyone else's, or a missing one, is the page of a missing id."""
    check_form(request, signed, await request.form())

    def delete_it() -> None:
        with runtime_of(request).sessions() as session:
            try:
                endpoint = endpoints.own_endpoint(session, int(endpoint_id) if endpoint_id.isdigit() else 0,
                                                  signed.user)
            except NotFound:
                raise PageNotFound() from None
            endpoints.delete_endpoint(session, endpoint)

    await run_in_threadpool(delete_it)
    return RedirectResponse(PATH + "?notice=deleted", status_code=303)

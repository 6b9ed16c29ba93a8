"""An owner cannot queue hundreds of exports of one project at once (issue 6): at most
`max_active_exports_per_project` waiting or processing; one more is 429 with Retry-After."""

from __future__ import annotations

import asyncio

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from crowdexports.exports import lifecycle
from crowdexports.exports.statuses import ExportStatus
from crowdexports.models import Export, Project
from crowdexports.runtime import Runtime
from tests.api.conftest import Account

BODY = {"format": "csv", "type": "orders"}


def _create(client: TestClient, project: Project, account: Account) -> httpx.Response:
    return client.post(f"/v1/projects/{project.id}/exports", json=BODY, headers=account.bearer)


def _active(session: Session, project: Project) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Export).where(
        Export.project_id == project.id, Export.status.in_(lifecycle.ACTIVE))) or 0


def test_one_export_over_the_cap_is_429_and_a_finished_one_makes_room(
        client: TestClient, runtime: Runtime, session: Session, alice: Account, project_a: Project,
        dispatched: list[int]) -> None:
    cap = runtime.settings.max_active_exports_per_project
    assert cap == 5  # the documented default
    created = [_create(client, project_a, alice) for _ in range(cap)]
    assert [response.status_code for response in created] == [201] * cap
    refused = _create(client, project_a, alice)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(lifecycle.ACTIVE_CAP_RETRY_SECONDS)
    [error] = refused.json()["errors"]
    assert error["classification"] == "RateLimitError" and "5 exports waiting or processing" in error["message"]
    assert _active(session, project_a) == cap and len(dispatched) == cap  # nothing stored, nothing queued
    # One finishes (any terminal state): there is room for exactly one more.
    session.execute(update(Export).where(Export.id == created[0].json()["id"]).values(status=ExportStatus.FAILED))
    session.commit()
    assert _create(client, project_a, alice).status_code == 201
    assert _create(client, project_a, alice).status_code == 429


def test_the_cap_is_per_project(client: TestClient, session: Session, alice: Account, project_a: Project,
                                runtime: Runtime) -> None:
    cap = runtime.settings.max_active_exports_per_project
    for _ in range(cap):
        assert _create(client, project_a, alice).status_code == 201
    other = Project(owner_id=alice.user.id, name="Another", slug="another")
    session.add(other)
    session.commit()
    assert _create(client, other, alice).status_code == 201


def test_concurrent_requests_never_pass_the_cap(client: TestClient, session: Session, alice: Account,
                                                project_a: Project, runtime: Runtime) -> None:
    """24 requests at once (the route runs in threads): exactly `cap` are created, the rest are 429."""
    cap = runtime.settings.max_active_exports_per_project

    async def burst() -> list[int]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            answers = await asyncio.gather(*(http.post(f"/v1/projects/{project_a.id}/exports", json=BODY,
                                                       headers=alice.bearer) for _ in range(24)))
        return sorted(answer.status_code for answer in answers)

    statuses = asyncio.run(burst())
    assert statuses == [201] * cap + [429] * (24 - cap)
    assert _active(session, project_a) == cap

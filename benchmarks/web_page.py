"""The page's render time (issue 14: a project's export page with 1,000 exports in <= 30 ms of server
time), printed, never asserted by a test.

    python benchmarks/web_page.py                 # 1,000 exports, 300 requests per page
    python benchmarks/web_page.py --exports 10000 --requests 1000

A fresh SQLite database in a temporary folder: one owner and staff (each signed in once through the sign-in
form), one project with N exports over the last year in every status (most succeeded with a file and a link that has
not expired, so each row signs a download url). Each page is asked for by the real app in this
process; the server time of a request is measured inside the app (from the ASGI call to the last byte of
the body), so the client's own work is not counted. 30 warm-up requests per page first.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert

from crowdexports.api.app import create_app
from crowdexports.auth import accounts, credentials
from crowdexports.config import Settings
from crowdexports.database.migrate import upgrade
from crowdexports.models import Export
from crowdexports.runtime import build_service

TARGET_MS = 30.0
TERMINAL = ("succeeded", "failed", "canceled")
PASSWORD = "a long benchmark password"
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
                   Awaitable[None]]


class ServerTime:
    """ASGI wrapper: the seconds from the app being called to the last byte of its answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.last = 0.0

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        start = time.perf_counter()

        async def timed_send(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self.last = time.perf_counter() - start

        await self.app(scope, receive, timed_send)


def _seed(settings: Settings, exports: int) -> int:
    """The owner, staff, and the project's exports; its id."""
    upgrade(settings.resolved_database_url)
    service = build_service(settings)
    rng = random.Random(14)
    now = datetime.now(UTC)
    with service.runtime.sessions() as session:
        owner = accounts.create_user(session, username="owner", email="owner@example.com", lang="en",
                                     first_name="Olga", last_name="Owner")
        staff = accounts.create_user(session, username="staff", email="staff@example.com", lang="en",
                                     first_name="Sam", last_name="Staff", is_staff=True)
        owner.password_hash = staff.password_hash = credentials.hash_password(PASSWORD)
        session.commit()
        project = accounts.create_project(session, owner=owner, name="Solar Kettle", timezone="Europe/Paris")
        statuses = ["succeeded"] * 80 + ["failed"] * 8 + ["canceled"] * 6 + ["processing"] * 3 + ["waiting"] * 3
        rows = []
        for number in range(exports):
            created = now - timedelta(days=365) + timedelta(seconds=number * 365 * 86400 // exports)
            status = rng.choice(statuses)
            done = status == "succeeded"
            rows.append({
                "project_id": project.id, "user_id": owner.id, "type": "orders",
                "format": rng.choice(["csv", "xlsx"]), "status": status, "created_at": created,
                "started_at": created if status != "waiting" else None,
                "finished_at": created + timedelta(seconds=3) if status in TERMINAL else None,
                "attempt": 1 if status != "waiting" else 0,
                "lease_until": now + timedelta(minutes=1) if status == "processing" else None,
                "rows_done": 400 if status == "processing" else 0, "rows_estimated": 1000,
                "error": "The storage could not be reached." if status == "failed" else None,
                "storage_key": f"exports/{number}.csv" if done else None,
                "file_name": f"solar-kettle-{number}.csv" if done else None,
                "size": rng.randrange(10_000, 5_000_000) if done else None,
                "row_count": rng.randrange(100, 200_000) if done else None,
                "expires_at": now + timedelta(days=7) if done else None,
                "email_status": "sent" if done else "none",
            })
        session.execute(insert(Export), rows)
        session.commit()
        project_id: int = project.id
        return project_id


def _signed_in(client: TestClient, username: str) -> None:
    form = client.get("/web/signin")
    found = CSRF.search(form.text)
    assert found, "no CSRF token on the sign-in form"
    answer = client.post("/web/signin", data={"csrf": found.group(1), "username": username, "password": PASSWORD,
                                              "next": "/web/projects"}, follow_redirects=False)
    assert answer.status_code == 303, answer.text[:300]


def _measure(client: TestClient, timer: ServerTime, path: str, requests: int) -> list[float]:
    for _ in range(30):
        assert client.get(path).status_code == 200
    times = []
    for _ in range(requests):
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.status_code)
        times.append(timer.last * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exports", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(_env_file=None, data_dir=Path(folder), secret_key="benchmark-secret-key-0123456789abc")
        project_id = _seed(settings, args.exports)
        service = build_service(settings)
        timer = ServerTime(create_app(service.runtime, lambda export_id: None))
        pages = {"the project's export page": f"/web/projects/{project_id}",
                 "its list, as it refreshes itself": f"/web/projects/{project_id}/exports",
                 "my projects": "/web/projects"}
        staff_pages = {"staff: all exports": "/web/staff/exports",
                       "staff: all exports, one status": "/web/staff/exports?status=failed"}
        print(f"{args.exports:,} exports of one project, SQLite, {args.requests} requests per page after 30 "
              f"warm-up; server time in ms")
        print(f"{'page':<36} {'median':>7} {'p95':>7} {'max':>7}")
        with TestClient(timer) as client:  # one app's life: its rate limit store closes with it
            _signed_in(client, "owner")
            results = {name: _measure(client, timer, path, args.requests) for name, path in pages.items()}
            client.cookies.clear()
            _signed_in(client, "staff")
            results |= {name: _measure(client, timer, path, args.requests) for name, path in staff_pages.items()}
        for name, times in results.items():
            p95 = statistics.quantiles(times, n=20)[-1]
            print(f"{name:<36} {statistics.median(times):7.2f} {p95:7.2f} {max(times):7.2f}")
        page_p95 = statistics.quantiles(results["the project's export page"], n=20)[-1]
        verdict = "PASS" if page_p95 <= TARGET_MS else "MISS"
        print(f"target: the export page's p95 <= {TARGET_MS:.0f} ms: {page_p95:.2f} ms {verdict}")


if __name__ == "__main__":
    main()
